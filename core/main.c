#include <stdio.h>
#include "copydesk.h"
int main(void) { puts(cd_strerror(CD_OK)); return 0; }
