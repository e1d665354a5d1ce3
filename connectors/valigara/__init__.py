"""Valigara: its action API (`auth`, `action`, `data`), the catalogue pull, `product_sold`."""
