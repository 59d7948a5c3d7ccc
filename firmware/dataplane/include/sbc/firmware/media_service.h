// The media relay's control side in sbc-dataplane: the control API's media requests
// (from sbc-mgmtd over IPC) become sessions in the running dataplane. It allocates each
// leg's relay port from the configured range on the configured service address,
// checks the suite against the config, turns the party's SDES key into session keys
// and makes ours (from the OS's CSPRNG), and ends sessions idle for the configured
// time, remembering the last few so a listing can say why they went.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "sbc/firmware/dataplane.h"
#include "sbc/schema/control.pb.h"

namespace sbc::firmware {

class MediaService {
 public:
  // Starts the once-a-second idle check; `log` receives one line per ended session.
  MediaService(Dataplane& dataplane, std::function<void(const std::string&)> log);
  ~MediaService();  // Stop()s
  // Ends the idle check (before the dataplane closes).
  void Stop();
  MediaService(const MediaService&) = delete;
  MediaService& operator=(const MediaService&) = delete;

  // Each session as created (id, local ports, our keys) or with its error. Any thread.
  [[nodiscard]] std::vector<schema::MediaSession> Create(
      const std::vector<schema::MediaSession>& sessions);
  // Each session as updated (our new keys, where ours changed) or with its error: the
  // legs as a re-offer describes them (see control.proto's MediaLeg). Any thread.
  [[nodiscard]] std::vector<schema::MediaSession> Update(
      const std::vector<schema::MediaSession>& sessions);
  // Each id, with an error if there was no such session.
  [[nodiscard]] std::vector<schema::MediaSession> Delete(
      const std::vector<schema::MediaSession>& sessions);
  // Every live session with its counters (never keys), then the recently ended.
  [[nodiscard]] std::vector<schema::MediaSession> List() const;
  // Ends sessions idle for the config's media.idle_timeout_s; returns their ids.
  std::vector<uint64_t> ExpireIdle();

 private:
  // Runs `one` for each session under the service's lock, with the running settings.
  using OneSession = schema::MediaSession (MediaService::*)(const schema::MediaSession&,
                                                            const dataplane::MediaSettings&);
  std::vector<schema::MediaSession> EachUnderLock(const std::vector<schema::MediaSession>& sessions,
                                                  OneSession one);
  schema::MediaSession CreateOne(const schema::MediaSession& request,
                                 const dataplane::MediaSettings& settings);
  schema::MediaSession UpdateOne(const schema::MediaSession& request,
                                 const dataplane::MediaSettings& settings);
  // The suite, if the running config allows it.
  static std::expected<dataplane::SrtpSuite, std::string> AllowedSuite(
      schema::SrtpSuite suite, const dataplane::MediaSettings& settings);
  // The party's SDES master key and salt, as session keys.
  std::expected<dataplane::SrtpStreamKeys, std::string> TheirKeys(const std::string& sdes,
                                                                  dataplane::SrtpSuite suite);
  // A master key of ours from the OS's CSPRNG: the session keys, and the SDES bytes
  // for the answer.
  struct DrawnKeys {
    dataplane::SrtpStreamKeys keys;
    std::string sdes;
  };
  std::expected<DrawnKeys, std::string> OurKeys(dataplane::SrtpSuite suite);
  void ReleasePorts(uint64_t id);

  Dataplane& dp_;
  std::function<void(const std::string&)> log_;
  mutable std::mutex mutex_;
  std::set<uint16_t> ports_in_use_;                          // RTP ports (each with port + 1)
  std::map<uint64_t, std::vector<uint16_t>> ports_;          // per session
  std::map<uint64_t, std::vector<std::string>> interfaces_;  // per session, per leg
  uint64_t next_id_ = 1;
  std::deque<schema::MediaSession> ended_;
  std::atomic<bool> stop_{false};
  std::thread ticker_;
};

}  // namespace sbc::firmware
