"""Reusable Textual widgets that render core models and post Messages; never import console/ or providers."""
