// Media sessions, for the signaling role: each RPC is one call to the dataplane, which
// holds the sessions. The audit entry names sessions, interfaces and suites; never
// addresses (personal data) or keys.
#include "service_state.h"

namespace sbc::mgmt::service {
namespace {

// The audit detail of a batch the dataplane answered: what was done, what was refused.
std::string Describe(const char* verb, const schema::DataplaneResponse& reply) {
  std::string done, refused;
  for (const auto& s : reply.media_sessions()) {
    if (!s.error().empty()) {
      refused += (refused.empty() ? "" : "; ") +
                 (s.id() ? std::to_string(s.id()) : std::string("a new session")) + ": " +
                 s.error();
      continue;
    }
    std::string legs;
    for (const auto& leg : s.legs())
      legs += (legs.empty() ? "" : " <-> ") + leg.interface() + " " +
              (leg.suite() == schema::SRTP_SUITE_UNSPECIFIED ? "plain"
                                                             : schema::SrtpSuite_Name(leg.suite()));
    done += (done.empty() ? "" : ", ") + std::to_string(s.id()) +
            (legs.empty() ? "" : " (" + legs + ")");
  }
  return (done.empty() ? "" : std::string(verb) + " " + done) +
         (refused.empty() ? "" : std::string(done.empty() ? "" : "; ") + "refused " + refused);
}

// One call to the dataplane; `verb` (the batch RPCs') also describes it for the audit.
schema::Response Call(ServiceState& state, const schema::DataplaneRequest& ipc, const char* verb,
                      std::string* detail) {
  DataplaneLink* dataplane;
  {
    std::lock_guard lock(state.mutex);
    dataplane = state.dataplane;
  }
  if (dataplane == nullptr) return Result(schema::FAILED, "no dataplane is attached");
  auto reply = dataplane->Call(ipc);
  if (!reply) return Result(schema::FAILED, reply.error());
  if (!reply->ok()) return Result(schema::FAILED, "the dataplane refused: " + reply->error());
  schema::Response r = Result(schema::OK);
  *r.mutable_media_sessions() = reply->media_sessions();
  if (verb == nullptr) return r;
  *detail = Describe(verb, *reply);
  // Each session stands or falls alone; the call failed only if all of them did.
  int failures = 0;
  for (const auto& s : reply->media_sessions()) failures += s.error().empty() ? 0 : 1;
  if (failures == reply->media_sessions_size()) {
    r.set_outcome(schema::REFUSED);
    r.set_error(reply->media_sessions(0).error());
  }
  return r;
}

// A batch RPC: the sessions go to the dataplane as `Into` of its request.
template <schema::MediaBatch* (schema::DataplaneRequest::*Into)(), const char* Verb>
schema::Response Batch(ServiceState& state, const schema::MediaBatch& batch, std::string* detail) {
  if (batch.sessions_size() == 0)
    return Result(schema::REFUSED, "no media sessions in the request");
  schema::DataplaneRequest ipc;
  *(ipc.*Into)() = batch;
  return Call(state, ipc, Verb, detail);
}

schema::Response List(ServiceState& state, std::string* detail) {
  schema::DataplaneRequest ipc;
  ipc.set_media_list(true);
  return Call(state, ipc, nullptr, detail);
}

constexpr char kCreated[] = "created", kUpdated[] = "updated", kDeleted[] = "deleted";
constexpr uint32_t kSignaling = RoleBit(schema::SIGNALING);

constexpr RpcRow kRows[] = {
    {schema::MEDIA_SESSION_CREATE, kSignaling, Locking::kWaitsOnADaemon,
     HandlerFor<&schema::Request::media_session_create,
                Batch<&schema::DataplaneRequest::mutable_media_create, kCreated>>,
     "created media sessions"},
    {schema::MEDIA_SESSION_UPDATE, kSignaling, Locking::kWaitsOnADaemon,
     HandlerFor<&schema::Request::media_session_update,
                Batch<&schema::DataplaneRequest::mutable_media_update, kUpdated>>,
     "updated media sessions"},
    {schema::MEDIA_SESSION_DELETE, kSignaling, Locking::kWaitsOnADaemon,
     HandlerFor<&schema::Request::media_session_delete,
                Batch<&schema::DataplaneRequest::mutable_media_delete, kDeleted>>,
     "deleted media sessions"},
    {schema::MEDIA_SESSION_LIST, kSignaling, Locking::kWaitsOnADaemon,
     HandlerFor<&schema::Request::media_session_list, List>, "listed the media sessions"},
};

}  // namespace

std::span<const RpcRow> MediaRpcs() { return kRows; }

}  // namespace sbc::mgmt::service
