"""Command-line commands, one module per stage; ``benchlab.cli`` registers them."""
