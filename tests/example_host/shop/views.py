"""The shop's pages: a home page, placing an order (the flow) and paying it (a Django task)."""

import json

from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_POST

from shop.flows import place_order
from shop.models import Order
from shop.tasks import mark_paid


def home(request):
    """The shop's own home page."""
    return HttpResponse(f"The shop: {Order.objects.count()} orders.")


@require_POST
def place_order_view(request):
    """Runs the flow ``place-order`` in this request with the posted customer and items."""
    body = json.loads(request.body)
    order_id = place_order(body["customer"], body["items"])
    order = Order.objects.get(pk=order_id)
    return JsonResponse(
        {"order": order.pk, "items": order.items, "total": str(order.total)}, status=201
    )


@require_POST
@transaction.non_atomic_requests
def pay_order_view(request, order_id: int):
    """Enqueues the Django task ``mark_paid``; a runs worker runs it.

    Outside the request's transaction (ATOMIC_REQUESTS), so that the worker sees the task's
    run as soon as it is told of it (Django's Tasks docs: enqueue after the commit)."""
    result = mark_paid.enqueue(order_id)
    return JsonResponse({"task_result": result.id, "status": result.status}, status=202)
