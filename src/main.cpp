#include "app/app.h"

int main(int argc, char** argv) { return ota::app::run(argc, argv); }
