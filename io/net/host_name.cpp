#include "io/net/host_name.h"

#include <unistd.h>

namespace tidewatch::io {

std::string localHostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

}  // namespace tidewatch::io
