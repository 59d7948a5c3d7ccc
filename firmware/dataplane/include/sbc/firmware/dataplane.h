// The running dataplane: the board's ports brought up, the crypto device, and one
// poll-mode worker per worker core running the whole pipeline on the ports of each
// pair (own-address replies, the media relay with SRTP, the firewall's rules and
// connection tracking), with the rules and media sessions the control side publishes.
#pragma once

#include <atomic>
#include <expected>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "sbc/board/board.h"
#include "sbc/dataplane/core/counters.h"
#include "sbc/dataplane/core/table_slot.h"
#include "sbc/dataplane/firewall/rule_spec.h"
#include "sbc/dataplane/media/media_table.h"
#include "sbc/dataplane/worker/worker.h"
#include "sbc/drivers/crypto/crypto_device.h"
#include "sbc/drivers/nic/port_set.h"
#include "sbc/firmware/packet_log_lines.h"

struct rte_ring;

namespace sbc::firmware {

class Dataplane;

struct DataplaneOptions {
  // Connection-table entries per worker (the config's max_flows is capped by it).
  uint32_t flows_per_worker = 1u << 16;
  // Media sessions the relay can hold at once (each takes up to 8 crypto sessions).
  uint32_t media_sessions = 1024;
  // Rules in force before the first packet is polled (sbc-dataplane --config); none:
  // everything is dropped until ApplyRules().
  const dataplane::RuleTableSpec* initial_rules = nullptr;
  // Tests: the time the workers and the media table read, in TSC ticks (the test
  // moves it); nullptr: the TSC. Must outlive the dataplane.
  const std::atomic<uint64_t>* clock = nullptr;
  // Tests: called once the ports are up and the rules published, before any worker
  // polls (to queue frames a booting appliance would find waiting).
  std::function<void(Dataplane&)> before_workers;
};

class Dataplane {
 public:
  // Control thread (EAL main lcore), after EAL init. Opens every port with one queue
  // per worker, publishes options.initial_rules (if any), then launches a
  // Worker on each worker core (lcore id = core id, as drivers::EalArguments
  // sets up) and returns once each has polled. Without rules the workers drop
  // everything (fail closed). Fails with one line and nothing left running.
  [[nodiscard]] static std::expected<std::unique_ptr<Dataplane>, std::string> Start(
      const board::Board& board, const DataplaneOptions& options = {});

  // Control thread, any time. Builds the run-time tables from `spec` off the fast path
  // and swaps them in without stopping the workers; the old tables are freed after an
  // RCU grace period. On failure the running rules stay as they were.
  [[nodiscard]] std::expected<void, std::string> ApplyRules(const dataplane::RuleTableSpec& spec);

  // The version of the rules in force (0: none, everything is dropped). Any thread.
  uint64_t rules_version() const;
  // Names of the rules in force, by index. Any thread.
  std::vector<std::string> rule_names() const;
  // Control thread; safe while workers run. Per rule of the rules in force.
  [[nodiscard]] std::vector<dataplane::RuleCounter> RuleCounters() const;
  [[nodiscard]] uint64_t Flows() const;

  // Control thread. The packet-log lines the workers recorded since the last call,
  // formatted (and pseudonymised if the rules in force say so), oldest first per worker.
  [[nodiscard]] std::vector<std::string> TakePacketLog();

  // Media sessions. Control or IPC thread; never stalls the workers (RCU). Without a
  // crypto device on the board, only plain RTP sessions are accepted.
  [[nodiscard]] std::expected<void, std::string> AddMediaSession(
      const dataplane::MediaSessionSpec& spec);
  [[nodiscard]] std::expected<void, std::string> UpdateMediaSession(
      const dataplane::MediaSessionUpdate& update);
  [[nodiscard]] bool RemoveMediaSession(uint64_t id);
  // Sessions with no packet either way for `idle_s` seconds, removed; their ids.
  std::vector<uint64_t> RemoveIdleMediaSessions(uint32_t idle_s);
  // The worker that relays new sessions next (round robin); AddMediaSession sets it.
  uint8_t workers() const { return static_cast<uint8_t>(workers_.size()); }
  // Every session as it is now, by id, while the workers run.
  [[nodiscard]] std::vector<dataplane::MediaSessionSnapshot> MediaSessions() const;
  // Session `id` as it is now, or nullopt.
  [[nodiscard]] std::optional<dataplane::MediaSessionSnapshot> MediaSession(uint64_t id) const;
  // Derives session keys from a master key on the crypto device (SDES keys in).
  [[nodiscard]] std::expected<dataplane::SrtpStreamKeys, std::string> DeriveSrtpKeys(
      const dataplane::SrtpMasterKey& master);
  bool has_crypto() const { return crypto_ != nullptr; }
  // The running config's media settings (empty before the first rules). Any thread.
  [[nodiscard]] dataplane::MediaSettings media_settings() const;
  // Records the workers' log meters or full rings kept back, in all.
  [[nodiscard]] uint64_t PacketLogSuppressed() const;

  // Stops the workers and closes the ports.
  ~Dataplane();
  Dataplane(const Dataplane&) = delete;
  Dataplane& operator=(const Dataplane&) = delete;

  // Control thread. Tells every worker to stop, waits while each drains what its
  // queues already hold, and returns when all have returned. Idempotent.
  void Stop();

  // Control thread. Closes the ports and frees the buffer pool; after Stop().
  void Close();

  // Control thread; safe while workers run.
  [[nodiscard]] dataplane::CounterTotals Counters() const;
  // Returns once every worker has finished a poll that began after the call: from
  // then on they all see what was written before it (a test's clock moved on). Control
  // thread; the workers must be running.
  void WaitForWorkers() const;
  // Each worker's polls so far, by worker: their heartbeats (Worker::polls). Control
  // or IPC thread, while the workers run.
  [[nodiscard]] std::vector<uint64_t> WorkerPolls() const;
  // One worker's counters (tests: which worker did what). Control thread.
  [[nodiscard]] const dataplane::WorkerCounters& WorkerCounters(size_t worker) const {
    return workers_[worker]->counters();
  }

  const board::Board& board() const { return board_; }
  drivers::nic::PortSet& ports() { return *ports_; }
  bool running() const { return running_; }

 private:
  explicit Dataplane(const board::Board& board) : board_(board) {}
  [[nodiscard]] std::expected<void, std::string> LaunchWorkers(const DataplaneOptions& options);
  [[nodiscard]] std::expected<void, std::string> OpenMedia(const DataplaneOptions& options);
  [[nodiscard]] std::expected<void, std::string> CreateHandoffRings(size_t workers);
  void DrainHandoffRings();  // after the workers stopped: what is left is dropped
  uint64_t Now() const;

  board::Board board_;
  std::unique_ptr<drivers::nic::PortSet> ports_;
  std::unique_ptr<dataplane::FirewallTableSlot> tables_;
  // Destroyed in reverse: workers (their crypto ops) before the media table (its
  // sessions) before the key factory before the device; the table needs tables_'s QSBR.
  std::unique_ptr<drivers::crypto::CryptoDevice> crypto_;
  std::unique_ptr<dataplane::ExtraSessionBudget> extra_sessions_;
  std::unique_ptr<dataplane::SrtpStreamFactory> srtp_;
  std::unique_ptr<dataplane::MediaTable> media_;
  mutable std::mutex media_mutex_;  // one media change (or listing) at a time
  std::string created_vdev_;        // the crypto vdev this object created (not EAL)
  std::vector<std::unique_ptr<dataplane::Worker>> workers_;
  std::vector<rte_ring*> handoff_;  // one per worker, with several workers
  uint8_t next_owner_ = 0;          // under media_mutex_
  const std::atomic<uint64_t>* clock_ = nullptr;
  // Drops the control side counts (frames left in hand-off rings at stop).
  dataplane::WorkerCounters control_counters_;
  // Control-side state of the rules in force: ApplyRules may run on the IPC thread
  // while the main thread reports. Workers never take this lock.
  mutable std::mutex rules_mutex_;
  uint64_t rules_version_ = 0;
  std::vector<std::string> rule_names_;
  bool pseudonymise_log_ = false;
  dataplane::MediaSettings media_settings_;
  std::array<uint8_t, 32> log_key_ = RandomLogKey();
  std::vector<unsigned> worker_lcores_;
  std::atomic<bool> stop_{false};
  bool running_ = false;
};

// Every counter as a flat name/value list: port.<name>.{rx,tx}_{packets,bytes},
// drop.<reason>, rule.<name>.{packets,bytes}, flows, rules_version. Control thread.
[[nodiscard]] std::vector<std::pair<std::string, uint64_t>> CounterList(Dataplane& dataplane);

// A plain-text table of per-port counters (ours and the device's), per-reason drops
// and per-rule matches, for the console and logs. Control thread.
[[nodiscard]] std::string FormatCounters(Dataplane& dataplane);

}  // namespace sbc::firmware
