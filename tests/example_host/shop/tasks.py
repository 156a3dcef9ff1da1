"""The shop's Django task (Django's Tasks framework), run by runs' workers."""

from django_tasks import task

from shop.models import Order


@task
def mark_paid(order_id: int) -> str:
    """Marks the order paid; returns its customer."""
    order = Order.objects.get(pk=order_id)
    order.paid = True
    order.save(update_fields=["paid"])
    return order.customer
