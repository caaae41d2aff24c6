"""The `leadtemp` command line: it parses arguments, calls one function of the package each
command belongs to, and sets the exit code. Nothing imports it."""
