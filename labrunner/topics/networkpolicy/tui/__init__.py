"""The NetworkPolicy topic's views in the full-screen app (Textual): imported only by the TUI."""
