"""limits_take_free_slots: the deferred release wakes others only when someone waits.

Migration 0002's function meant to send a NOTIFY with every deferred release, but never
did: its local variable ``found`` hid PL/pgSQL's ``FOUND``. A run elsewhere that queued just
as such a release went out was then woken only by its next poll. Sending it every time would
wake the slot listener of every process once per limited task run. Now the function locks
the limits of the slots it frees together with those it takes (one statement, in tag order,
so no deadlock), and only then frees them and looks for waiters: a run that decided to wait
on one of those limits held the same lock while it queued, so its waiter row is committed and
seen. NOTIFY goes out only if there is one.

The count and the insert also became one ``INSERT ... SELECT ... WHERE NOT EXISTS (a blocked
limit)``, which starts after the row locks are held, so its snapshot sees every slot taken by
whoever held them before; the rows it inserted tell ``acquired`` from ``busy``.
"""

from django.db import migrations

TAKE_FREE_SLOTS = """
CREATE OR REPLACE FUNCTION limits_take_free_slots(
    p_tags text[], p_run uuid, p_owner text, p_acquired timestamptz, p_release uuid[]
) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    limited integer;
    taken integer;
    queued boolean;
BEGIN
    SELECT count(*) FILTER (WHERE locked.tag = ANY(p_tags)) INTO limited
      FROM (SELECT l.tag FROM limits_concurrencylimit l
             WHERE l.tag = ANY(p_tags)
                OR (cardinality(p_release) > 0 AND l.id IN (
                    SELECT s.limit_id FROM limits_concurrencyslot s
                     WHERE s.task_run_id = ANY(p_release)))
             ORDER BY l.tag FOR UPDATE) locked;
    IF cardinality(p_release) > 0 THEN
        WITH left_queue AS (
                 DELETE FROM limits_slotwaiter WHERE task_run_id = ANY(p_release)),
             freed AS (
                 DELETE FROM limits_concurrencyslot WHERE task_run_id = ANY(p_release)
                 RETURNING limit_id)
        SELECT EXISTS (SELECT 1 FROM limits_slotwaiter w
                        WHERE w.limit_id IN (SELECT limit_id FROM freed)
                          AND NOT (w.task_run_id = ANY(p_release)))
          INTO queued;
        IF queued THEN
            PERFORM pg_notify('runs_slots', '');
        END IF;
    END IF;
    IF limited = 0 THEN
        RETURN 'unlimited';
    END IF;
    INSERT INTO limits_concurrencyslot (limit_id, task_run_id, acquired, owner)
    SELECT l.id, p_run, p_acquired, p_owner FROM limits_concurrencylimit l
     WHERE l.tag = ANY(p_tags)
       AND NOT EXISTS (
           SELECT 1 FROM limits_concurrencylimit b
            WHERE b.tag = ANY(p_tags)
              AND (b.concurrency_limit <= (SELECT count(*) FROM limits_concurrencyslot s
                                            WHERE s.limit_id = b.id AND s.task_run_id <> p_run)
                   OR EXISTS (SELECT 1 FROM limits_slotwaiter w WHERE w.limit_id = b.id)))
    ON CONFLICT (limit_id, task_run_id) DO UPDATE SET owner = EXCLUDED.owner;
    GET DIAGNOSTICS taken = ROW_COUNT;
    IF taken = 0 THEN
        RETURN 'busy';
    END IF;
    RETURN 'acquired';
END
$$;
"""


def replace_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TAKE_FREE_SLOTS)


def restore_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        from importlib import import_module

        previous = import_module("runs_limits.migrations.0002_slot_owner")
        schema_editor.execute(previous.TAKE_FREE_SLOTS)


class Migration(migrations.Migration):

    dependencies = [("limits", "0002_slot_owner")]

    operations = [migrations.RunPython(replace_function, restore_function)]
