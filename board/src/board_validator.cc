// Semantic checks of a parsed board. Every rule reports with the field path, and all
// rules run, so one pass over a broken file names every problem in it.
#include <algorithm>
#include <array>
#include <regex>
#include <set>
#include <sstream>

#include "sbc/board/board.h"

namespace sbc::board {
namespace {

// Virtual NIC drivers the sim board and tests may name. Others exist in DPDK, but
// these are the ones the appliance is tested with and tools/setup installs.
constexpr std::array<std::string_view, 6> kNetVdevDrivers = {
    "net_ring", "net_null", "net_pcap", "net_tap", "net_memif", "net_af_packet"};
constexpr std::array<std::string_view, 3> kCryptoVdevDrivers = {
    "crypto_aesni_mb", "crypto_aesni_gcm", "crypto_openssl"};

constexpr uint32_t kMinDescriptors = 64;
constexpr uint32_t kMaxDescriptors = 4096;
constexpr uint32_t kMinMtu = 68;
constexpr uint32_t kMaxMtu = 9000;
// Pools, rings and EAL's own heap need this much without hugepages.
constexpr uint32_t kMinMemoryMb = 64;
constexpr uint32_t kMaxMemoryMb = 1u << 20;
constexpr uint32_t kMinMbufDataRoom = 128 + 1518;
constexpr uint32_t kMaxMbufDataRoom = 65535;  // mbuf buf_len is 16 bits
constexpr uint32_t kMaxCore = 1023;           // CPU_SETSIZE - 1
constexpr uint32_t kMaxWatchdogTimeoutS = 600;

// Concatenates its arguments as text; g++ 12 has no std::format.
template <typename... Parts>
std::string Str(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

class Checker {
 public:
  explicit Checker(std::string_view origin) : prefix_(Str("board ", origin, ": ")) {}

  void Fail(std::string_view path, std::string_view reason) {
    errors_.push_back(Str(prefix_, path, ": ", reason));
  }
  void RequireNonEmpty(std::string_view path, const std::string& value) {
    if (value.empty()) Fail(path, "is required");
  }
  Errors Take() { return std::move(errors_); }

 private:
  std::string prefix_;
  Errors errors_;
};

template <size_t N>
bool Contains(const std::array<std::string_view, N>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

bool IsPowerOfTwo(uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

bool IsValidPortName(const std::string& name) {
  static const std::regex kPattern("[a-z][a-z0-9-]{0,14}");
  return std::regex_match(name, kPattern);
}

bool IsValidPciAddress(const std::string& address) {
  static const std::regex kPattern("[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7]");
  return std::regex_match(address, kPattern);
}

std::string Quoted(std::string_view s) { return Str("\"", s, "\""); }

void CheckCpu(const Board& board, Checker& check) {
  if (!board.has_cpu()) return check.Fail("cpu", "is required");
  const schema::Cpu& cpu = board.cpu();
  if (cpu.main_core() > kMaxCore)
    check.Fail("cpu.main_core", Str("core ", cpu.main_core(), " is above ", kMaxCore));
  if (cpu.worker_cores().empty()) check.Fail("cpu.worker_cores", "needs at least one worker core");
  std::set<uint32_t> seen;
  for (int i = 0; i < cpu.worker_cores_size(); ++i) {
    const uint32_t core = cpu.worker_cores(i);
    const std::string path = Str("cpu.worker_cores[", i, "]");
    if (core > kMaxCore) check.Fail(path, Str("core ", core, " is above ", kMaxCore));
    if (core == cpu.main_core()) check.Fail(path, Str("core ", core, " is already the main core"));
    if (!seen.insert(core).second) check.Fail(path, Str("core ", core, " is listed twice"));
  }
}

void CheckMemory(const Board& board, Checker& check) {
  if (!board.has_memory()) return check.Fail("memory", "is required");
  const schema::Memory& mem = board.memory();
  if (mem.size_mb() < kMinMemoryMb || mem.size_mb() > kMaxMemoryMb)
    check.Fail("memory.size_mb",
               Str(mem.size_mb(), " is outside [", kMinMemoryMb, ", ", kMaxMemoryMb, "]"));
  if (mem.mbuf_data_room() != 0 &&
      (mem.mbuf_data_room() < kMinMbufDataRoom || mem.mbuf_data_room() > kMaxMbufDataRoom))
    check.Fail("memory.mbuf_data_room", Str(mem.mbuf_data_room(), " is outside [", kMinMbufDataRoom,
                                            ", ", kMaxMbufDataRoom, "]"));
}

void CheckDescriptors(std::string_view path, uint32_t value, Checker& check) {
  if (value == 0) return;  // default
  if (value < kMinDescriptors || value > kMaxDescriptors || !IsPowerOfTwo(value))
    check.Fail(path, Str(value, " is not a power of two in [", kMinDescriptors, ", ",
                         kMaxDescriptors, "]"));
}

void CheckPorts(const Board& board, Checker& check) {
  if (board.ports_size() < 2) check.Fail("ports", "needs at least two data ports");
  if (board.ports_size() > kMaxPorts)
    check.Fail("ports", Str(board.ports_size(), " ports, at most ", kMaxPorts, " are supported"));
  std::set<std::string> names, devices;
  for (int i = 0; i < board.ports_size(); ++i) {
    const schema::Port& port = board.ports(i);
    const std::string at = Str("ports[", i, "]");
    if (!IsValidPortName(port.name()))
      check.Fail(at + ".name",
                 Str(Quoted(port.name()), " is not a port name ([a-z][a-z0-9-]{0,14})"));
    else if (!names.insert(port.name()).second)
      check.Fail(at + ".name", Str(Quoted(port.name()), " is used by another port"));

    switch (port.device_case()) {
      case schema::Port::kVdev: {
        const std::string_view driver = VdevDriver(port.vdev());
        if (!Contains(kNetVdevDrivers, driver))
          check.Fail(at + ".vdev", Str("unknown driver ", Quoted(driver)));
        else if (driver.size() == VdevName(port.vdev()).size())
          check.Fail(at + ".vdev",
                     Str(Quoted(port.vdev()), " needs an instance number, e.g. ", driver, "0"));
        else if (!devices.insert(std::string(VdevName(port.vdev()))).second)
          check.Fail(at + ".vdev", Str(Quoted(VdevName(port.vdev())), " is used by another port"));
        break;
      }
      case schema::Port::kPci:
        if (!IsValidPciAddress(port.pci()))
          check.Fail(at + ".pci",
                     Str(Quoted(port.pci()), " is not a PCI address like 0000:3b:00.0"));
        else if (!devices.insert(port.pci()).second)
          check.Fail(at + ".pci", Str(Quoted(port.pci()), " is used by another port"));
        break;
      case schema::Port::DEVICE_NOT_SET:
        check.Fail(at, "needs a device: vdev or pci");
        break;
    }
    CheckDescriptors(at + ".rx_descriptors", port.rx_descriptors(), check);
    CheckDescriptors(at + ".tx_descriptors", port.tx_descriptors(), check);
    if (port.mtu() != 0 && (port.mtu() < kMinMtu || port.mtu() > kMaxMtu))
      check.Fail(at + ".mtu", Str(port.mtu(), " is outside [", kMinMtu, ", ", kMaxMtu, "]"));
  }
}

void CheckPortPairs(const Board& board, Checker& check) {
  if (board.port_pairs().empty()) check.Fail("port_pairs", "needs at least one port pair");
  std::set<std::string> known, paired;
  for (const auto& port : board.ports()) known.insert(port.name());
  for (int i = 0; i < board.port_pairs_size(); ++i) {
    const schema::PortPair& pair = board.port_pairs(i);
    const std::string at = Str("port_pairs[", i, "]");
    if (pair.a() == pair.b()) {
      check.Fail(at + ".b", Str("port ", Quoted(pair.b()), " cannot be paired with itself"));
      continue;
    }
    for (const auto& [field, name] : {std::pair{".a", &pair.a()}, std::pair{".b", &pair.b()}}) {
      if (!known.contains(*name))
        check.Fail(at + field, Str("no port named ", Quoted(*name)));
      else if (!paired.insert(*name).second)
        check.Fail(at + field, Str("port ", Quoted(*name), " is already in a pair"));
    }
  }
}

void CheckCrypto(const Board& board, Checker& check) {
  const schema::CryptoDevice& crypto = board.crypto();
  switch (crypto.device_case()) {
    case schema::CryptoDevice::kVdev:
      if (!Contains(kCryptoVdevDrivers, VdevDriver(crypto.vdev())))
        check.Fail("crypto.vdev", Str("unknown crypto driver ", Quoted(VdevDriver(crypto.vdev()))));
      break;
    case schema::CryptoDevice::kPci:
      if (!IsValidPciAddress(crypto.pci()))
        check.Fail("crypto.pci",
                   Str(Quoted(crypto.pci()), " is not a PCI address like 0000:3d:00.0"));
      break;
    case schema::CryptoDevice::DEVICE_NOT_SET:
      check.Fail("crypto", "needs a device: vdev or pci");
      break;
  }
}

void CheckStorage(const Board& board, Checker& check) {
  if (!board.has_storage()) return check.Fail("storage", "is required");
  const schema::Storage& storage = board.storage();
  check.RequireNonEmpty("storage.data_dir", storage.data_dir());
  check.RequireNonEmpty("storage.key_store", storage.key_store());
  for (const auto& [path, slot] : {std::pair{"storage.slot_a", &storage.slot_a()},
                                   std::pair{"storage.slot_b", &storage.slot_b()}}) {
    check.RequireNonEmpty(Str(path, ".path"), slot->path());
    if (slot->file_backed() && slot->size_mb() == 0)
      check.Fail(Str(path, ".size_mb"), "a file-backed slot needs a size");
  }
  if (storage.boot_attempts() > 10)
    check.Fail("storage.boot_attempts", "must be between 1 and 10 (0: the default, 3)");
  if (!storage.slot_a().path().empty() && storage.slot_a().path() == storage.slot_b().path())
    check.Fail("storage.slot_b.path", "is the same as slot_a's");
}

void CheckWatchdog(const Board& board, Checker& check) {
  if (!board.has_watchdog()) return check.Fail("watchdog", "is required");
  check.RequireNonEmpty("watchdog.path", board.watchdog().path());
  const uint32_t timeout = board.watchdog().timeout_s();
  if (timeout < 1 || timeout > kMaxWatchdogTimeoutS)
    check.Fail("watchdog.timeout_s", Str(timeout, " is outside [1, ", kMaxWatchdogTimeoutS, "]"));
}

void CheckLeds(const Board& board, Checker& check) {
  std::set<std::string> names;
  for (int i = 0; i < board.leds_size(); ++i) {
    const std::string at = Str("leds[", i, "]");
    check.RequireNonEmpty(at + ".name", board.leds(i).name());
    check.RequireNonEmpty(at + ".path", board.leds(i).path());
    if (!board.leds(i).name().empty() && !names.insert(board.leds(i).name()).second)
      check.Fail(at + ".name", Str(Quoted(board.leds(i).name()), " is used by another LED"));
  }
}

}  // namespace

Errors ValidateBoard(const Board& board, std::string_view origin) {
  Checker check(origin);
  check.RequireNonEmpty("name", board.name());
  CheckCpu(board, check);
  CheckMemory(board, check);
  CheckPorts(board, check);
  CheckPortPairs(board, check);
  CheckCrypto(board, check);
  CheckStorage(board, check);
  CheckWatchdog(board, check);
  CheckLeds(board, check);
  return check.Take();
}

}  // namespace sbc::board
