#include "trace/trace-accel_vmi.h"
