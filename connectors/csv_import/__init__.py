"""CSV import of customers, sale lines and products (Facet's file contract; README.md)."""
