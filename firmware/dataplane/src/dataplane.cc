#include "sbc/firmware/dataplane.h"
#include "sbc/drivers/sanitizer/handoff.h"
#include "sbc/firmware/telemetry.h"

#include <thread>

#include <rte_bus_vdev.h>
#include <rte_cryptodev.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

namespace sbc::firmware {
namespace {

// The packet core counts per port without knowing the board; the two limits are one.
static_assert(dataplane::kMaxPorts == static_cast<size_t>(board::kMaxPorts),
              "a board may describe no more ports than a worker counts");

struct WorkerJob {
  dataplane::Worker* worker;
  const std::atomic<bool>* stop;
};

int RunWorker(void* arg) {
  const WorkerJob job = *static_cast<WorkerJob*>(arg);
  delete static_cast<WorkerJob*>(arg);
  job.worker->Run(*job.stop);
  drivers::sanitizer::HandOver(job.worker);  // to Stop(), through rte_eal_wait_lcore
  return 0;
}

}  // namespace

std::expected<std::unique_ptr<Dataplane>, std::string> Dataplane::Start(
    const board::Board& board, const DataplaneOptions& options) {
  std::unique_ptr<Dataplane> dp(new Dataplane(board));
  dp->clock_ = options.clock;
  const auto queues = static_cast<uint16_t>(board.cpu().worker_cores_size());
  auto ports = drivers::nic::PortSet::Open(board, queues);
  if (!ports) return std::unexpected(ports.error());
  dp->ports_ = std::move(*ports);
  auto slot = dataplane::FirewallTableSlot::Create(queues);
  if (!slot) return std::unexpected(slot.error());
  dp->tables_ = std::move(*slot);
  if (auto media = dp->OpenMedia(options); !media) return std::unexpected(media.error());
  if (auto rings = dp->CreateHandoffRings(queues); !rings) return std::unexpected(rings.error());
  // The rules go in before any worker polls: the first frames a booting appliance
  // finds waiting are judged by them, not dropped as no_rule_set.
  if (options.initial_rules != nullptr)
    if (auto applied = dp->ApplyRules(*options.initial_rules); !applied)
      return std::unexpected(applied.error());
  if (options.before_workers) options.before_workers(*dp);
  if (auto launched = dp->LaunchWorkers(options); !launched)
    return std::unexpected(launched.error());
  PublishTelemetry(dp.get());
  return dp;
}

std::expected<void, std::string> Dataplane::ApplyRules(const dataplane::RuleTableSpec& spec) {
  std::lock_guard lock(rules_mutex_);  // one rule change at a time
  const auto workers = static_cast<uint32_t>(board_.cpu().worker_cores_size());
  auto tables = dataplane::FirewallTables::Build(spec, workers, rte_get_tsc_hz());
  if (!tables)
    return std::unexpected("rules version " + std::to_string(spec.version) + ": " + tables.error());
  for (size_t i = 0; i < ports_->size(); ++i)
    rte_eth_macaddr_get(ports_->port_id(i), &(*tables)->port_macs[i]);
  // Workers read per-rule counters by index: a new rule set starts them from zero.
  tables_->Publish(std::move(*tables));
  rules_version_ = spec.version;
  rule_names_ = spec.rule_names;
  pseudonymise_log_ = spec.pseudonymise_log_addresses;
  media_settings_ = spec.media;
  return {};
}

dataplane::MediaSettings Dataplane::media_settings() const {
  std::lock_guard lock(rules_mutex_);
  return media_settings_;
}

std::expected<void, std::string> Dataplane::OpenMedia(const DataplaneOptions& options) {
  const auto workers = static_cast<uint16_t>(board_.cpu().worker_cores_size());
  // The board's crypto device: a vdev by name, or the first device a PCI probe found.
  std::string name = board_.crypto().vdev();
  if (name.empty() && rte_cryptodev_count() > 0) name = rte_cryptodev_name_get(0);
  if (!name.empty()) {
    // EAL creates the board's vdev from its arguments; a process that started EAL
    // itself (the tests) gets it here, and removes it again on close.
    if (!board_.crypto().vdev().empty() && rte_cryptodev_get_dev_id(name.c_str()) < 0) {
      if (rte_vdev_init(name.c_str(), nullptr) != 0)
        return std::unexpected("crypto device " + name + ": cannot create it");
      created_vdev_ = name;
    }
    // Eight sessions per media session (SRTP and SRTCP, each way, both legs), and room
    // for AEAD streams' extra header lengths, bounded so that no sender can take the
    // sessions new calls need (ExtraSessionBudget).
    const uint32_t extra = options.media_sessions / 2 + 64;
    auto device = drivers::crypto::CryptoDevice::Open(
        {.name = name,
         .queue_pairs =
             static_cast<uint16_t>(workers + 1),  // one per worker, one for key derivation
         .sessions = 8 * options.media_sessions + 64 + extra,
         .ops = static_cast<uint32_t>(dataplane::SrtpBatch::kOps) * (workers + 1u) + 64});
    if (!device) return std::unexpected(device.error());
    crypto_ = std::move(*device);
    extra_sessions_ = std::make_unique<dataplane::ExtraSessionBudget>(extra);
    srtp_ = std::make_unique<dataplane::SrtpStreamFactory>(
        crypto_->id(), workers, crypto_->session_pool(), crypto_->op_pool(), extra_sessions_.get());
  }
  auto table = dataplane::MediaTable::Create(options.media_sessions, tables_->qsbr(), srtp_.get(),
                                             options.clock);
  if (!table) return std::unexpected(table.error());
  media_ = std::move(*table);
  return {};
}

std::expected<void, std::string> Dataplane::CreateHandoffRings(size_t workers) {
  if (workers < 2) return {};  // one worker owns every session
  static std::atomic<int> serial{0};
  const int instance = serial++;
  for (size_t w = 0; w < workers; ++w) {
    const std::string name = "sbc_handoff" + std::to_string(instance) + "_" + std::to_string(w);
    rte_ring* ring =
        rte_ring_create(name.c_str(), 1024, static_cast<int>(rte_socket_id()), RING_F_SC_DEQ);
    if (ring == nullptr)
      return std::unexpected("media hand-off ring " + name + ": " + rte_strerror(rte_errno));
    handoff_.push_back(ring);
  }
  return {};
}

void Dataplane::DrainHandoffRings() {
  for (rte_ring* ring : handoff_) {
    rte_mbuf* frames[32];
    unsigned n;
    while ((n = rte_ring_dequeue_burst(ring, reinterpret_cast<void**>(frames), 32, nullptr)) != 0) {
      control_counters_.AddDrop(dataplane::DropReason::kMediaOtherWorker, n);
      rte_pktmbuf_free_bulk(frames, n);
    }
  }
}

void Dataplane::WaitForWorkers() const {
  // Each worker reports a quiescent state after every poll (Worker::Run).
  dataplane::WaitForGracePeriod(tables_->qsbr());
}

uint64_t Dataplane::Now() const {
  return clock_ == nullptr ? rte_get_tsc_cycles() : clock_->load(std::memory_order_relaxed);
}

std::expected<void, std::string> Dataplane::AddMediaSession(
    const dataplane::MediaSessionSpec& spec) {
  std::lock_guard lock(media_mutex_);
  dataplane::MediaSessionSpec owned = spec;
  // One worker writes each session's state: round robin over the workers.
  owned.owner = workers_.empty() ? 0 : static_cast<uint8_t>(next_owner_ % workers_.size());
  auto added = media_->Add(owned);
  if (added) ++next_owner_;
  return added;
}

std::expected<void, std::string> Dataplane::UpdateMediaSession(
    const dataplane::MediaSessionUpdate& update) {
  std::lock_guard lock(media_mutex_);
  return media_->Update(update);
}

bool Dataplane::RemoveMediaSession(uint64_t id) {
  std::lock_guard lock(media_mutex_);
  return media_->Remove(id);
}

std::vector<uint64_t> Dataplane::RemoveIdleMediaSessions(uint32_t idle_s) {
  std::lock_guard lock(media_mutex_);
  return media_->RemoveIdle(Now(), uint64_t{idle_s} * rte_get_tsc_hz());
}

std::vector<dataplane::MediaSessionSnapshot> Dataplane::MediaSessions() const {
  std::lock_guard lock(media_mutex_);
  return media_->Snapshot();
}

std::optional<dataplane::MediaSessionSnapshot> Dataplane::MediaSession(uint64_t id) const {
  std::lock_guard lock(media_mutex_);
  return media_->SnapshotOf(id);
}

std::expected<dataplane::SrtpStreamKeys, std::string> Dataplane::DeriveSrtpKeys(
    const dataplane::SrtpMasterKey& master) {
  std::lock_guard lock(media_mutex_);  // the key-derivation queue pair has one user at a time
  if (srtp_ == nullptr)
    return std::unexpected(std::string("this board has no crypto device: no SRTP"));
  return srtp_->Derive(master);
}

uint64_t Dataplane::rules_version() const {
  std::lock_guard lock(rules_mutex_);
  return rules_version_;
}

std::vector<std::string> Dataplane::rule_names() const {
  std::lock_guard lock(rules_mutex_);
  return rule_names_;
}

std::vector<std::string> Dataplane::TakePacketLog() {
  std::vector<std::string> port_names;
  port_names.reserve(ports_->size());
  for (size_t i = 0; i < ports_->size(); ++i) port_names.push_back(ports_->name(i));
  bool pseudonymise;
  std::vector<std::string> rules;
  {
    std::lock_guard lock(rules_mutex_);
    pseudonymise = pseudonymise_log_;
    rules = rule_names_;
  }
  const PacketLogFormatter format(std::move(port_names), std::move(rules), pseudonymise, log_key_);
  std::vector<std::string> lines;
  dataplane::PacketLogRecord records[64];
  for (const auto& worker : workers_) {
    unsigned n;
    while ((n = worker->log().Drain(records, 64)) != 0)
      for (unsigned i = 0; i < n; ++i) lines.push_back(format.Line(records[i]));
  }
  return lines;
}

uint64_t Dataplane::PacketLogSuppressed() const {
  uint64_t total = 0;
  for (const auto& worker : workers_) total += worker->log().suppressed();
  return total;
}

std::vector<dataplane::RuleCounter> Dataplane::RuleCounters() const {
  size_t rules;
  {
    std::lock_guard lock(rules_mutex_);
    rules = rule_names_.size();
  }
  std::vector<dataplane::RuleCounter> sum(rules);
  for (const auto& worker : workers_) {
    const auto counters = worker->rule_counters();
    for (size_t r = 0; r < sum.size(); ++r) {
      sum[r].packets += std::atomic_ref<uint64_t>(const_cast<uint64_t&>(counters[r].packets))
                            .load(std::memory_order_relaxed);
      sum[r].bytes += std::atomic_ref<uint64_t>(const_cast<uint64_t&>(counters[r].bytes))
                          .load(std::memory_order_relaxed);
    }
  }
  return sum;
}

uint64_t Dataplane::Flows() const {
  uint64_t flows = 0;
  for (const auto& worker : workers_) flows += worker->flows();
  return flows;
}

std::vector<uint64_t> Dataplane::WorkerPolls() const {
  std::vector<uint64_t> polls;
  polls.reserve(workers_.size());
  for (const auto& worker : workers_) polls.push_back(worker->polls());
  return polls;
}

std::expected<void, std::string> Dataplane::LaunchWorkers(const DataplaneOptions& options) {
  // Both directions of every pair; worker q serves queue q of each port.
  std::vector<dataplane::WireLink> links;
  for (const auto& pair : board_.port_pairs()) {
    const auto a = ports_->IndexOf(pair.a()), b = ports_->IndexOf(pair.b());
    if (!a || !b)  // a validated board names only its ports
      return std::unexpected("port pair " + pair.a() + "/" + pair.b() + " is not the board's");
    for (auto [in, out] : {std::pair{*a, *b}, std::pair{*b, *a}})
      links.push_back({.rx_port_id = ports_->port_id(in),
                       .tx_port_id = ports_->port_id(out),
                       .rx_slot = static_cast<uint8_t>(in),
                       .tx_slot = static_cast<uint8_t>(out)});
  }

  for (int q = 0; q < board_.cpu().worker_cores_size(); ++q) {
    const unsigned lcore = board_.cpu().worker_cores(q);
    if (lcore >= RTE_MAX_LCORE || !rte_lcore_is_enabled(lcore) || lcore == rte_get_main_lcore() ||
        rte_eal_get_lcore_state(lcore) != WAIT) {
      Stop();
      return std::unexpected("cpu.worker_cores[" + std::to_string(q) + "]: lcore " +
                             std::to_string(lcore) + " is not a free EAL worker lcore");
    }
    for (auto& link : links) link.queue = static_cast<uint16_t>(q);
    dataplane::MediaStage media{.table = media_.get(), .handoff = handoff_};
    if (crypto_)
      media.crypto = {crypto_->id(), static_cast<uint16_t>(q), crypto_->op_pool(),
                      crypto_->session_pool(), extra_sessions_.get()};
    auto worker = dataplane::Worker::Create(links, *tables_, static_cast<uint32_t>(q),
                                            options.flows_per_worker, &media, options.clock);
    if (!worker) {
      Stop();
      return std::unexpected(worker.error());
    }
    workers_.push_back(std::move(*worker));
  }
  for (size_t q = 0; q < workers_.size(); ++q) {
    const unsigned lcore = board_.cpu().worker_cores(static_cast<int>(q));
    auto* job = new WorkerJob{workers_[q].get(), &stop_};
    if (int ret = rte_eal_remote_launch(RunWorker, job, lcore); ret != 0) {
      delete job;
      Stop();
      return std::unexpected("cannot launch worker on lcore " + std::to_string(lcore) + ": " +
                             std::to_string(ret));
    }
    worker_lcores_.push_back(lcore);
  }
  // Until a worker has registered with RCU, a grace period does not wait for it, so
  // WaitForWorkers() would return before it had polled at all. Its first poll counted
  // means it is online: from here on every grace period waits for its next poll.
  for (const auto& worker : workers_)
    while (worker->polls() == 0) std::this_thread::yield();
  running_ = true;
  return {};
}

void Dataplane::Stop() {
  stop_.store(true, std::memory_order_relaxed);
  for (unsigned lcore : worker_lcores_) rte_eal_wait_lcore(lcore);
  for (const auto& worker : workers_) drivers::sanitizer::TakeOver(worker.get());
  worker_lcores_.clear();
  running_ = false;
  DrainHandoffRings();
}

void Dataplane::Close() {
  UnpublishTelemetry();
  Stop();
  if (ports_) ports_->Close();
}

Dataplane::~Dataplane() {
  Close();
  workers_.clear();  // their crypto ops go back before the pools do
  for (rte_ring* ring : handoff_) rte_ring_free(ring);
  media_.reset();
  srtp_.reset();
  crypto_.reset();
  if (!created_vdev_.empty()) rte_vdev_uninit(created_vdev_.c_str());
}

dataplane::CounterTotals Dataplane::Counters() const {
  std::vector<const dataplane::WorkerCounters*> blocks = {&control_counters_};
  for (const auto& worker : workers_) blocks.push_back(&worker->counters());
  return dataplane::SumCounters(blocks);
}

}  // namespace sbc::firmware
