// Defaults for optional board fields, kept in one place so that the loader, the NIC
// driver and status reports agree on them.
#include "sbc/board/board.h"

namespace sbc::board {
namespace {
constexpr uint32_t kDefaultDescriptors = 1024;
constexpr uint32_t kDefaultMtu = 1500;
constexpr uint32_t kDefaultBootAttempts = 3;
// RTE_MBUF_DEFAULT_BUF_SIZE, restated so this module needs no DPDK header.
constexpr uint32_t kDefaultMbufDataRoom = 2048 + 128;
}  // namespace

std::string_view VdevName(std::string_view vdev) { return vdev.substr(0, vdev.find(',')); }

std::string_view VdevDriver(std::string_view vdev) {
  std::string_view name = VdevName(vdev);
  // DPDK names an instance by appending digits (and sometimes '_' + digits) to the
  // driver name: net_ring0, net_pcap1, crypto_aesni_mb0.
  size_t end = name.size();
  while (end > 0 && (name[end - 1] >= '0' && name[end - 1] <= '9')) --end;
  return name.substr(0, end);
}

uint32_t RxDescriptors(const schema::Port& port) {
  return port.rx_descriptors() ? port.rx_descriptors() : kDefaultDescriptors;
}
uint32_t TxDescriptors(const schema::Port& port) {
  return port.tx_descriptors() ? port.tx_descriptors() : kDefaultDescriptors;
}
uint32_t Mtu(const schema::Port& port) { return port.mtu() ? port.mtu() : kDefaultMtu; }
uint32_t MbufDataRoom(const Board& board) {
  return board.memory().mbuf_data_room() ? board.memory().mbuf_data_room() : kDefaultMbufDataRoom;
}

uint32_t BootAttempts(const Board& board) {
  return board.storage().boot_attempts() ? board.storage().boot_attempts() : kDefaultBootAttempts;
}

std::filesystem::path ResolveStoragePath(const Board& board, std::string_view path) {
  std::filesystem::path p(path);
  if (p.is_absolute()) return p;
  return std::filesystem::path(board.storage().data_dir()) / p;
}

}  // namespace sbc::board
