#define MAILD_VERSION "0.1.0"
