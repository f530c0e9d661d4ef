"""engine part of xuefeng (see DESIGN.md §2)."""
