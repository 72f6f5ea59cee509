// Placeholder until the FUSE file system lands.
int main() { return 1; }
