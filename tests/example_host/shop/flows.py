"""The shop's flow: an order written by a flow, one task per item."""

from decimal import Decimal

from runs import flow, get_run_logger, task
from shop.models import Order

PRICES = {"apple": Decimal("0.50"), "bread": Decimal("2.20"), "cheese": Decimal("4.75")}


@task
def add_item(order_id: int, item: str) -> str:
    """Adds one item to the order and its price to the total."""
    order = Order.objects.get(pk=order_id)
    order.items = [*order.items, item]
    order.total += PRICES[item]
    order.save(update_fields=["items", "total"])
    get_run_logger().info("added %s to order %s", item, order_id)
    return item


@flow(name="place-order")
def place_order(customer: str, items: list[str]) -> int:
    """Writes an order for ``customer`` with ``items``; returns its id."""
    order = Order.objects.create(customer=customer)
    for item in items:
        add_item(order.pk, item)
    get_run_logger().info("order %s placed", order.pk)
    return order.pk
