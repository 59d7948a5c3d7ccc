#include "sbc/firmware/ipc_dispatch.h"

#include <string.h>  // explicit_bzero

#include <utility>
#include <vector>

namespace sbc::firmware {

IpcDispatch::IpcDispatch(Dataplane& dataplane, MediaService& media, BundleCheck check, Log log)
    : dataplane_(dataplane), media_(media), check_(std::move(check)), log_(std::move(log)) {}

schema::DataplaneResponse IpcDispatch::Handle(const schema::DataplaneRequest& request) {
  schema::DataplaneResponse response;
  switch (request.kind_case()) {
    case schema::DataplaneRequest::kApplyBundle:
      ApplyBundle(request.apply_bundle(), response);
      break;
    case schema::DataplaneRequest::kMediaCreate:
    case schema::DataplaneRequest::kMediaUpdate:
    case schema::DataplaneRequest::kMediaDelete:
    case schema::DataplaneRequest::kMediaList:
      Media(request, response);
      break;
    case schema::DataplaneRequest::kGetStatus:
      for (uint64_t polls : dataplane_.WorkerPolls()) response.add_worker_polls(polls);
      response.set_ok(true);
      break;
    case schema::DataplaneRequest::kGetCounters:
      Counters(response);
      break;
    case schema::DataplaneRequest::KIND_NOT_SET:
      // A newer sbc-mgmtd's request, or a broken one: refused, saying so.
      response.set_ok(false);
      response.set_error("the request names no operation this dataplane knows");
      break;
  }
  response.set_rules_version(dataplane_.rules_version());
  return response;
}

void IpcDispatch::ApplyBundle(std::string_view envelope, schema::DataplaneResponse& response) {
  std::expected<VerifiedConfig, std::string> verified = check_(envelope);
  std::expected<void, std::string> applied =
      verified ? dataplane_.ApplyRules(verified->tables) : std::unexpected(verified.error());
  response.set_ok(applied.has_value());
  if (!applied) {
    response.set_error(applied.error());
    return;
  }
  log_("rules version " + std::to_string(dataplane_.rules_version()) + " applied from sbc-mgmtd");
}

void IpcDispatch::Media(const schema::DataplaneRequest& request,
                        schema::DataplaneResponse& response) {
  const schema::MediaBatch& batch = request.has_media_create()   ? request.media_create()
                                    : request.has_media_update() ? request.media_update()
                                                                 : request.media_delete();
  std::vector<schema::MediaSession> asked(batch.sessions().begin(), batch.sessions().end());
  const std::vector<schema::MediaSession> sessions =
      request.has_media_create()   ? media_.Create(asked)
      : request.has_media_update() ? media_.Update(asked)
      : request.has_media_delete() ? media_.Delete(asked)
                                   : media_.List();
  for (const schema::MediaSession& s : sessions) *response.add_media_sessions() = s;
  response.set_ok(true);
  // The parties' SDES keys were derived from: gone from this copy of the request.
  for (schema::MediaSession& s : asked)
    for (auto& leg : *s.mutable_legs())
      explicit_bzero(leg.mutable_leg_key()->data(), leg.leg_key().size());
}

void IpcDispatch::Counters(schema::DataplaneResponse& response) {
  for (const auto& [name, value] : CounterList(dataplane_)) {
    schema::NamedCounter* counter = response.add_counters();
    counter->set_name(name);
    counter->set_value(value);
  }
  response.set_ok(true);
}

}  // namespace sbc::firmware
