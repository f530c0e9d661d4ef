"""geo part of xuefeng (see DESIGN.md §2)."""
