"""One module per input format; each turns a file into Paper records and `file:line:` problem lines."""
