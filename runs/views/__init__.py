"""Dashboard pages, one module per page group; URLs in runs/urls.py."""
