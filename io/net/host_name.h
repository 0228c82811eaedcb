// This machine's host name (gethostname), "localhost" when it cannot be read. Any thread.
#pragma once

#include <string>

namespace tidewatch::io {

std::string localHostName();

}  // namespace tidewatch::io
