// The declaration in include/CFuzzDriver.h is the whole of this target: libFuzzer defines the function.
#include "CFuzzDriver.h"
