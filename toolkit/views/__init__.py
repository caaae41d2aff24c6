"""What the tools print on a terminal (rich tables and lines); no logic of their own."""
