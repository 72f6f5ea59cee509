// NBD protocol (in progress).
