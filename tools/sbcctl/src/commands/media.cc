// media: media sessions created, updated (re-offers), deleted and listed, as a
// signaling client would (see media_legs.h for the leg syntax).
#include <memory>

#include "commands/command.h"
#include "media_legs.h"

namespace sbc::tools {
namespace {

// create and update: one session, its id and two legs.
struct SessionOptions {
  uint64_t id = 0;
  std::vector<std::string> legs;
};

schema::MediaBatch* BatchOf(schema::Request& request, LegFor use) {
  return use == LegFor::kCreate ? request.mutable_media_session_create()
                                : request.mutable_media_session_update();
}

Step AddLegs(const std::vector<std::string>& texts, LegFor use, schema::MediaSession* session) {
  for (const std::string& text : texts) {
    auto leg = ParseLeg(text, use);
    if (!leg) return std::unexpected(Usage("--leg " + text + ": " + leg.error()));
    *session->add_legs() = *leg;
  }
  return {};
}

// The callback of create or update (`options` held by it, so the values CLI11 writes
// outlive the declarations).
std::function<void()> OneSession(Command& command,
                                 const std::shared_ptr<const SessionOptions>& options, LegFor use) {
  return [&command, options, use] {
    (void)BatchOf(command.request, use);
    command.prepare = [options, use](schema::Request& request) {
      schema::MediaSession* session = BatchOf(request, use)->add_sessions();
      session->set_id(options->id);
      return AddLegs(options->legs, use, session);
    };
  };
}

}  // namespace

void AddMediaCommands(CLI::App& app, Command& command) {
  auto created = std::make_shared<SessionOptions>(), updated = std::make_shared<SessionOptions>();
  auto* media =
      app.add_subcommand("media", "media sessions (signaling role)")->require_subcommand(1);
  auto* create = media->add_subcommand("create", "anchor a call's media: two legs");
  create
      ->add_option(
          "--leg", created->legs,
          "interface=wan0[,remote=203.0.113.5:4000][,local=SERVICE_ADDRESS]"
          "[,suite=AES_CM_128_HMAC_SHA1_80,keyfile=PATH|key=-|key=BASE64][,mux][,clock=8000] "
          "(twice: one per party; key=- reads the key from stdin)")
      ->required()
      ->expected(2);
  create->add_option("--id", created->id, "session id (default: the appliance picks one)");
  create->callback(OneSession(command, created, LegFor::kCreate));
  auto* update = media->add_subcommand(
      "update",
      "a live session as a re-offer has it (the same keys again keep their streams going)");
  update->add_option("id", updated->id)->required();
  update
      ->add_option(
          "--leg", updated->legs,
          "[remote=203.0.113.5:4000][,suite=AES_CM_128_HMAC_SHA1_80[,keyfile=PATH|key=-|key=BASE64]"
          "[,newkey]][,mux]"
          "[,clock=8000] (twice: one per party, in the order created)")
      ->required()
      ->expected(2);
  update->callback(OneSession(command, updated, LegFor::kUpdate));
  auto* remove = media->add_subcommand("delete", "end media sessions");
  remove
      ->add_option_function<std::vector<uint64_t>>(
          "id",
          [&command](const std::vector<uint64_t>& ids) {
            schema::MediaBatch* batch = command.request.mutable_media_session_delete();
            for (uint64_t id : ids) batch->add_sessions()->set_id(id);
          })
      ->required();
  media->add_subcommand("list", "sessions with their counters, and those recently ended")
      ->callback([&] { (void)command.request.mutable_media_session_list(); });
}

}  // namespace sbc::tools
