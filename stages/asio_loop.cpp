#include "stages/asio_loop.h"

#include <stdexcept>
#include <string>

namespace tidewatch::stages {

io::AsioEventLoop& asioLoopOf(const StageContext& ctx, std::string_view stage) {
  if (ctx.asio == nullptr) {
    throw std::invalid_argument(
        std::string(stage) +
        " does network I/O and needs the Asio event loop (StageContext::asio)");
  }
  return *ctx.asio;
}

}  // namespace tidewatch::stages
