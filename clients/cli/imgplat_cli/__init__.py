"""imgplat: the command-line client of the image platform (`imgplat --help`)."""
