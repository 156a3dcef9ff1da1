"""The shop's one model."""

from django.db import models


class Order(models.Model):
    """An order of a customer: its items, their total, and whether it is paid."""

    customer = models.CharField(max_length=100)
    items = models.JSONField(default=list)
    total = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    paid = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"order {self.pk} of {self.customer}"
