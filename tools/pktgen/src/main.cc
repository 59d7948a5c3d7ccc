// sbc-pktgen: the traffic generator and sink for the appliance's benches on machines
// without NICs. A separate DPDK process on virtual ports the appliance shares
// (net_memif pairs, or net_af_packet on veths for the kernel's nftables as a peer), so
// the appliance under test runs unmodified.
//
//   sbc-pktgen run    --port VDEV --port VDEV --profile firewall --pps 1e6 --seconds 2
//   sbc-pktgen search --port VDEV --port VDEV --profile media --calls 1000 --connect 127.0.0.1:4443
//                     --ca ca.pem --cert gen.pem --key gen.key --loss 0 --trial-seconds 2 --repeats
//                     3
//   sbc-pktgen sink    --port VDEV --port VDEV      (takes and drops all; with run/search
//                                                    --into-sink: the generator's own ceiling)
//   sbc-pktgen reflect --port VDEV --port VDEV      (bounces all: a loopback for self-checks)
//
// Frames go out of the first port and are expected back on the second. Results are one
// JSON object on stdout; progress goes to stderr.
#include <arpa/inet.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <sysexits.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>

#include "media_setup.h"
#include "ports.h"
#include "search.h"
#include "traffic.h"
#include "trial.h"

namespace {

using namespace sbc::tools::pktgen;

std::atomic<bool> stop{false};

int Fail(const std::string& why) {
  std::cerr << "sbc-pktgen: " << why << std::endl;
  return 1;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Bounces every frame from each port out of the other (reflect), or takes and drops
// every frame (sink), until stopped or `seconds` pass.
//
// DPDK 22.11's memif PMD unmaps a departed client's rings from its interrupt thread
// while a poll on this lcore may be reading them (a fault reading ring->head, seen
// when the generator exits; docs/PERFORMANCE.md). So that a client's departure finds
// no poll under way: a port whose link is down is not polled, and once nothing has
// come for kIdleAfter the loop naps kIdleNap between polls (a sender's last frame
// comes before it leaves, so its going finds the loop asleep, and the next poll sees
// the link down). The first frames after a nap wait at most kIdleNap in the ring.
void Reflect(const Ports& ports, double seconds, bool bounce) {
  constexpr double kIdleAfter = 0.05;  // seconds without a frame
  constexpr useconds_t kIdleNap = 50;  // microseconds
  const auto hz = static_cast<double>(rte_get_tsc_hz());
  const uint64_t end =
      seconds > 0 ? rte_get_tsc_cycles() + static_cast<uint64_t>(seconds * hz) : ~0ull;
  const auto idle_after = static_cast<uint64_t>(kIdleAfter * hz);
  uint64_t moved = 0, last_frame = rte_get_tsc_cycles();
  while (!stop.load(std::memory_order_relaxed)) {
    const uint64_t now = rte_get_tsc_cycles();
    if (now >= end) break;
    const bool idle = now - last_frame > idle_after;
    for (size_t i = 0; i < 2; ++i) {
      if (idle) {
        rte_eth_link link{};
        if (rte_eth_link_get_nowait(ports.ids[i], &link) != 0 ||
            link.link_status == RTE_ETH_LINK_DOWN)
          continue;
      }
      rte_mbuf* burst[64];
      const uint16_t n = rte_eth_rx_burst(ports.ids[i], 0, burst, 64);
      if (n == 0) continue;
      last_frame = now;
      uint16_t sent = 0;
      // A reflector must not lose what it is given: wait for room (the sender then feels it).
      while (bounce && sent < n && !stop.load(std::memory_order_relaxed))
        sent = static_cast<uint16_t>(sent +
                                     rte_eth_tx_burst(ports.ids[1 - i], 0, burst + sent, n - sent));
      if (sent < n) rte_pktmbuf_free_bulk(burst + sent, n - sent);
      moved += n;
    }
    if (idle) usleep(kIdleNap);
  }
  std::cerr << "sbc-pktgen " << (bounce ? "reflect: " : "sink: ") << moved
            << (bounce ? " frames bounced" : " frames taken") << std::endl;
}

}  // namespace

int main(int argc, char** argv) try {
  CLI::App app{"sbc-pktgen: traffic generator and sink for the appliance's benches"};
  app.require_subcommand(1);
  EalSpec eal;
  std::string profile = "firewall";
  FirewallMixSpec mix;
  std::string src_base = "10.0.0.1", dst_base = "192.0.2.1";
  uint32_t calls = 100;
  std::string codec_name = "g711", gateway = "198.51.100.1:10000", phone = "192.0.2.100:10000";
  std::string connect, ca, cert, key;
  uint32_t check_every = 1024;
  std::string media_path = "rtp-to-srtp";
  bool made_up_calls = false, into_sink = false;
  double pps = 1e6, seconds = 2, min_pps = 1e4, max_pps = 2e7, loss_percent = 0, resolution = 0.01;
  double late_slack = 0.01, drain_seconds = 0.05;
  uint32_t repeats = 3;
  for (CLI::App* sub :
       {app.add_subcommand("run", "one trial at a fixed rate"),
        app.add_subcommand("search", "RFC 2544 zero-loss throughput, then latency at that rate"),
        app.add_subcommand("sink", "take and drop every frame (for the generator's own ceiling)"),
        app.add_subcommand("reflect", "bounce frames between the two ports (for self-checks)")}) {
    sub->add_option("--port", eal.vdevs,
                    "a DPDK vdev (e.g. net_memif0,role=client,...); with --pci, two ports in all: "
                    "out, then back");
    sub->add_option("--pci", eal.pci,
                    "a NIC port by PCI address (a real rig; hugepages needed), before any --port");
    sub->add_option("--file-prefix", eal.file_prefix, "EAL runtime file prefix");
    sub->add_option("--lcore", eal.lcore, "the core to run on");
    sub->add_option("--memory-mb", eal.memory_mb, "EAL memory (no hugepages)");
    sub->add_option("--seconds", seconds,
                    "run: trial length; sink, reflect: how long (0: until stopped)");
    if (std::string(sub->get_name()) == "reflect" || std::string(sub->get_name()) == "sink")
      continue;
    sub->add_option("--late-slack", late_slack,
                    "how late (a share of the trial's length) a trial may still send what is left; "
                    "later, it ends and counts as the generator's falling short (tests on a "
                    "loaded machine give it room)");
    sub->add_option("--drain-seconds", drain_seconds,
                    "how long nothing must come back after the last send before counting ends");
    sub->add_flag("--into-sink", into_sink,
                  "frames go into `sbc-pktgen sink`: none come back, and a trial passes when "
                  "every frame went out on time (the generator's own ceiling)");
    sub->add_option("--profile", profile, "firewall or media")
        ->check(CLI::IsMember({"firewall", "media"}));
    sub->add_option("--flows", mix.flows, "firewall: distinct flows");
    sub->add_option("--denied", mix.denied, "firewall: share of frames the rules deny");
    sub->add_option("--malformed", mix.malformed, "firewall: share of malformed frames");
    sub->add_option("--frame-size", mix.frame_bytes,
                    "firewall: bytes on the wire, with FCS (64..1518)")
        ->check(CLI::Range(64, 1518));
    sub->add_option("--src", src_base, "firewall: first source address (outside)");
    sub->add_option("--dst", dst_base, "firewall: first destination address (inside)");
    sub->add_option("--allowed-port", mix.allowed_port, "firewall: UDP port the rules allow");
    sub->add_option("--denied-port", mix.denied_port, "firewall: UDP port they do not");
    sub->add_option("--calls", calls,
                    "media: concurrent calls (sessions created through the control API)");
    sub->add_option("--codec", codec_name, "media: g711, g722 or opus")
        ->check(CLI::IsMember({"g711", "g722", "opus"}));
    sub->add_option("--gateway", gateway, "media: first gateway address:port (wan0 side)");
    sub->add_option("--phone", phone, "media: first phone address:port (lan0 side)");
    sub->add_option("--connect", connect, "media: the control API, host:port");
    sub->add_option("--ca", ca, "media: the management CA (PEM)");
    sub->add_option("--cert", cert, "media: a signaling user's certificate (PEM)");
    sub->add_option("--key", key, "media: its key (PEM)");
    sub->add_option("--check-every", check_every,
                    "media: decrypt every n-th SRTP packet back with libsrtp2 (thousands of "
                    "cycles each, on the generator's core: a sample, not all)");
    sub->add_flag(
        "--made-up-calls", made_up_calls,
        "media: no appliance, no control API: calls made up here (for the generator's own ceiling "
        "against a reflector)");
    sub->add_option("--media-path", media_path,
                    "media: rtp-to-srtp (gateways send plain RTP, SRTP comes back) or srtp-to-rtp "
                    "(phones send "
                    "SRTP protected here with libsrtp2, plain RTP comes back)")
        ->check(CLI::IsMember({"rtp-to-srtp", "srtp-to-rtp"}));
    sub->add_option("--pps", pps, "run: offered frames per second");
    sub->add_option("--min-pps", min_pps, "search: bottom of the bracket");
    sub->add_option("--max-pps", max_pps, "search: top of the bracket");
    sub->add_option("--loss", loss_percent,
                    "search: loss allowed, percent (0, or 0.001 as in RFC 2544 practice)");
    sub->add_option("--trial-seconds", seconds, "search: each trial's length");
    sub->add_option("--repeats", repeats, "search: whole searches; the median is reported")
        ->check(CLI::Range(1, 99));
    sub->add_option("--resolution", resolution,
                    "search: stop when the bracket is this fraction of its top");
  }
  CLI11_PARSE(app, argc, argv);
  std::signal(SIGINT, [](int) { stop = true; });
  std::signal(SIGTERM, [](int) { stop = true; });
  const std::string mode = app.get_subcommands()[0]->get_name();

  // A reflector waits for the generator it serves; a generator for what it tests.
  if (eal.pci.size() + eal.vdevs.size() != 2)
    return Fail("two ports are needed (--pci and --port, in all)");
  const bool passive = mode == "reflect" || mode == "sink";
  auto ports = OpenPorts(eal, passive ? 60 : 10);
  if (!ports) return Fail(ports.error());
  if (passive) {
    Reflect(*ports, seconds, mode == "reflect");
    ClosePorts(*ports);
    return 0;
  }

  std::unique_ptr<Traffic> traffic;
  std::vector<MediaCall> made;
  std::unique_ptr<SrtpCheck> check;
  std::unique_ptr<SrtpSender> sender;
  uint16_t tx_port = 0, rx_port = 1;  // out of the first port, back on the second
  ControlSpec control;
  std::ostringstream params;
  if (profile == "firewall") {
    in_addr s{}, d{};
    if (inet_pton(AF_INET, src_base.c_str(), &s) != 1 ||
        inet_pton(AF_INET, dst_base.c_str(), &d) != 1)
      return Fail("--src and --dst are IPv4 addresses");
    mix.src_base = ntohl(s.s_addr);
    mix.dst_base = ntohl(d.s_addr);
    traffic = std::make_unique<FirewallMix>(mix);
    params << "\"flows\":" << mix.flows << ",\"denied\":" << mix.denied
           << ",\"malformed\":" << mix.malformed << ",\"frame_bytes\":" << mix.frame_bytes;
  } else {
    Codec codec{};
    (void)CodecByName(codec_name, &codec);
    CallPlan plan;
    plan.calls = calls;
    if (!ParseEndpoint(gateway, &plan.gateway_base) || !ParseEndpoint(phone, &plan.phone_base))
      return Fail("--gateway and --phone are address:port");
    if (made_up_calls) {
      made = MadeUpCalls(plan, {0xc00002fa, 30002});  // 192.0.2.250
    } else {
      const size_t colon = connect.rfind(':');
      if (colon == std::string::npos || ca.empty() || cert.empty() || key.empty())
        return Fail("media needs --connect host:port, --ca, --cert and --key (or --made-up-calls)");
      control = {connect.substr(0, colon),
                 static_cast<uint16_t>(std::stoul(connect.substr(colon + 1))), ca, cert, key};
      std::cerr << "sbc-pktgen: creating " << calls << " calls through the control API"
                << std::endl;
      auto created = CreateCalls(control, plan);
      if (!created) return Fail(created.error());
      made = *created;
    }
    std::unique_ptr<MediaStream> stream;
    if (media_path == "rtp-to-srtp") {
      // The phones speak first (so the relay knows where they are); SRTP comes back.
      if (auto greeted = GreetFromPhones(made, *ports, 1); !greeted) return Fail(greeted.error());
      stream = std::make_unique<MediaStream>(made, codec);
      check = std::make_unique<SrtpCheck>(made, stream->ssrc_base(),
                                          std::max<uint32_t>(1, check_every));
      stream->set_observer(
          [c = check.get()](const uint8_t* rtp, uint16_t bytes) { c->Look(rtp, bytes); });
    } else {
      // The gateways speak first; the phones then send SRTP and plain RTP comes back.
      if (auto greeted = GreetFromGateways(made, *ports, 0); !greeted) return Fail(greeted.error());
      sender = std::make_unique<SrtpSender>(made);
      stream =
          std::make_unique<MediaStream>(made, codec, MediaPath::kSrtpToRtp,
                                        [s = sender.get()](size_t call, uint8_t* rtp, int length) {
                                          return s->Protect(call, rtp, length);
                                        });
      // As many packets as the longest trial sends, protected before any is timed.
      const double most = (mode == "run" ? pps : max_pps) * seconds;
      if (most * (12 + codec.payload_bytes + 64) > 8e9)
        return Fail(
            "SRTP is protected up front: --max-pps (or --pps) times the trial's seconds is too "
            "many packets");
      std::cerr << "sbc-pktgen: protecting " << static_cast<uint64_t>(most)
                << " packets with libsrtp2" << std::endl;
      if (auto prepared = stream->Prepare(static_cast<uint64_t>(most)); !prepared)
        return Fail(prepared.error());
      if (!made_up_calls) {
        stream->set_restart(
            [&control, plan, &made] { return RestartPhoneStreams(control, plan, made); });
      } else {
        // No appliance: what comes back (through a reflector) is what was sent, which
        // libsrtp2 checks under the phones' keys.
        check = std::make_unique<SrtpCheck>(
            made, stream->ssrc_base(), std::max<uint32_t>(1, check_every), &MediaCall::phone_key);
        stream->set_observer(
            [c = check.get()](const uint8_t* rtp, uint16_t bytes) { c->Look(rtp, bytes); });
      }
      tx_port = 1;
      rx_port = 0;
    }
    traffic = std::move(stream);
    params << "\"calls\":" << calls << ",\"codec\":\"" << codec.name
           << "\",\"rtp_bytes\":" << 12 + codec.payload_bytes << ",\"path\":\""
           << (media_path == "rtp-to-srtp" ? "RTP->SRTP" : "SRTP->RTP")
           << "\",\"suite\":\"AES_CM_128_HMAC_SHA1_80\"";
  }

  std::ostringstream out;
  out << "{\"tool\":\"sbc-pktgen\",\"mode\":\"" << mode << "\",\"tsc_hz\":" << rte_get_tsc_hz()
      << ",\"profile\":\"" << profile << "\",\"params\":{" << params.str() << "}";
  // Each trial starts from what the traffic needs (fresh SRTP streams, say).
  bool rearm_failed = false;
  auto rearm = [&traffic, &rearm_failed] {
    if (rearm_failed) return false;
    auto ready = traffic->Rearm();
    if (!ready) std::cerr << "sbc-pktgen: before a trial: " << ready.error() << std::endl;
    rearm_failed = !ready;
    return ready.has_value();
  };
  if (mode == "run") {
    if (!rearm()) return 1;
    const TrialResult r = RunTrial(*traffic,
                                   {.pps = pps,
                                    .seconds = seconds,
                                    .tx_port = tx_port,
                                    .rx_port = rx_port,
                                    .drain_s = drain_seconds,
                                    .late_slack = late_slack,
                                    .into_sink = into_sink},
                                   *ports);
    out << ",\"trial\":" << ToJson(r);
  } else {
    const SearchSpec spec{.min_pps = min_pps,
                          .max_pps = max_pps,
                          .loss_ratio = loss_percent / 100,
                          .resolution = resolution};
    std::vector<double> found;
    out << ",\"loss_percent\":" << loss_percent << ",\"trial_seconds\":" << seconds
        << ",\"searches\":[";
    for (uint32_t rep = 0; rep < repeats && !stop && !rearm_failed; ++rep) {
      const SearchResult s = FindThroughput(spec, [&](double rate) {
        const TrialSpec trial{.pps = rate,
                              .seconds = seconds,
                              .tx_port = tx_port,
                              .rx_port = rx_port,
                              .drain_s = drain_seconds,
                              .late_slack = late_slack,
                              .into_sink = into_sink};
        if (!rearm())
          return TrialOutcome{.expected = 1};  // no trial: a failed one, and the run fails
        const TrialResult r = RunTrial(*traffic, trial, *ports);
        std::cerr << "sbc-pktgen: " << ToJson(r) << std::endl;
        return r.outcome();
      });
      found.push_back(s.pps);
      int reruns = 0;
      for (const SearchStep& step : s.steps) reruns += step.runs - 1;
      out << (rep ? "," : "") << "{\"pps\":" << s.pps
          << ",\"generator_bound\":" << (s.generator_bound ? "true" : "false")
          << ",\"trials\":" << s.steps.size() << ",\"reruns_generator_held_up\":" << reruns << "}";
    }
    const double median = Median(found);
    out << "],\"throughput_pps\":{\"median\":" << median
        << ",\"min\":" << *std::min_element(found.begin(), found.end())
        << ",\"max\":" << *std::max_element(found.begin(), found.end()) << "}";
    // Latency at the throughput found (RFC 2544 section 26.2).
    if (median > 0 && rearm())
      out << ",\"latency_trial\":"
          << ToJson(RunTrial(*traffic,
                             {.pps = median,
                              .seconds = seconds,
                              .tx_port = tx_port,
                              .rx_port = rx_port,
                              .drain_s = drain_seconds,
                              .late_slack = late_slack,
                              .into_sink = into_sink},
                             *ports));
  }
  if (check)
    out << ",\"srtp_checked\":{\"verified\":" << check->verified()
        << ",\"failed\":" << check->failed() << "}";
  out << "}";
  // Without its preparation a trial's figures mean nothing: none are printed.
  if (!rearm_failed) std::cout << out.str() << std::endl;
  if (!made.empty() && !made_up_calls)
    if (auto deleted = DeleteCalls(control, made); !deleted)
      std::cerr << "sbc-pktgen: " << deleted.error() << std::endl;
  ClosePorts(*ports);
  return rearm_failed ? 1 : 0;
} catch (const std::exception& e) {
  // Nothing is meant to throw this far: say what did, rather than abort without a word.
  std::cerr << "sbc-pktgen: unexpected failure: " << e.what() << std::endl;
  return EX_SOFTWARE;
}
