// firmware: the appliance's A/B slots. status; upload IMAGE (in chunks, with a progress
// bar on a terminal, resuming an upload the appliance already holds part of); activate
// the installed slot (the appliance reboots into it, on trial); commit or revert it;
// verify: the runtime integrity check now.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>

#include "commands/command.h"
#include "sbc/mgmt/image/digest.h"

namespace sbc::tools {
namespace {

struct UploadOptions {
  std::string file;
  std::string image;  // its bytes, read before connecting
  uint32_t chunk_kib = 1024;
  bool progress = true;
};

void ShowProgress(uint64_t done, uint64_t total) {
  constexpr int kWidth = 40;
  const int filled = static_cast<int>(done * kWidth / total);
  std::fprintf(stderr, "\rupload [%s%s] %3d%% %.1f/%.1f MiB", std::string(filled, '#').c_str(),
               std::string(kWidth - filled, '.').c_str(), static_cast<int>(done * 100 / total),
               static_cast<double>(done) / (1 << 20), static_cast<double>(total) / (1 << 20));
  if (done == total) std::fputc('\n', stderr);
  std::fflush(stderr);
}

// Asks where an upload of this image stands, then sends the rest a chunk at a time.
// The last chunk's reply (the install's outcome) is the command's.
std::expected<schema::Response, Failure> SendImage(const UploadOptions& options,
                                                   Connection& connection) {
  const std::string sha256 = mgmt::image::Sha256(options.image);
  const uint64_t size = options.image.size();
  schema::Request ask;
  (void)ask.mutable_firmware_status();
  auto status = connection.Call(ask);
  if (!status) return status;
  if (status->outcome() == schema::DENIED) return status;
  uint64_t offset = 0;
  if (status->firmware_upload_sha256() == sha256 && status->firmware_upload_size() == size) {
    offset = std::min(status->firmware_upload_offset(), size);
    // All of it held: the last chunk is sent again (empty), which installs it.
    if (offset != 0)
      std::cerr << "sbcctl: resuming the upload of " << options.file << " at byte " << offset
                << std::endl;
  }
  const bool bar = options.progress && isatty(STDERR_FILENO) == 1;
  const uint64_t chunk = uint64_t{options.chunk_kib} << 10;
  for (;;) {
    schema::Request request;
    schema::FirmwareUpload* upload = request.mutable_firmware_upload();
    upload->set_image_sha256(sha256);
    upload->set_image_size(size);
    upload->set_offset(offset);
    const uint64_t n = std::min(chunk, size - offset);
    upload->set_data(options.image.substr(offset, n));
    auto reply = connection.Call(request);
    if (!reply) return reply;
    if (reply->outcome() != schema::OK) return reply;
    offset += n;
    if (bar) ShowProgress(offset, size);
    if (offset >= size) return reply;
  }
}

}  // namespace

void AddFirmwareCommands(CLI::App& app, Command& command) {
  auto* firmware =
      app.add_subcommand("firmware", "the appliance's firmware slots")->require_subcommand(1);
  firmware->add_subcommand("status", "both slots, the booted one, health, an upload held")
      ->callback([&command] { (void)command.request.mutable_firmware_status(); });

  auto options = std::make_shared<UploadOptions>();  // held by the callbacks
  auto* upload = firmware->add_subcommand(
      "upload",
      "send a signed image; the appliance checks it and installs it to the inactive slot");
  upload->add_option("image", options->file, "the image file (sbc-sign image)")->required();
  upload->add_option("--chunk-kib", options->chunk_kib, "bytes per request, in KiB (at most 1024)")
      ->check(CLI::Range(1, 1024));
  upload->add_flag("!--no-progress", options->progress, "no progress bar");
  upload->callback([&command, options] {
    (void)command.request.mutable_firmware_upload();
    command.prepare = [options](schema::Request&) -> Step {
      auto image = ReadFileArgument(options->file);
      if (!image) return std::unexpected(image.error());
      if (image->empty()) return std::unexpected(Usage(options->file + ": empty file"));
      options->image = std::move(*image);
      return {};
    };
    command.call = [options](Connection& connection, schema::Request&) {
      return SendImage(*options, connection);
    };
  });
  firmware->add_subcommand("activate", "boot the installed slot (on trial until committed)")
      ->callback([&command] { (void)command.request.mutable_firmware_activate(); });
  firmware->add_subcommand("commit", "keep the slot on trial (after its health check)")
      ->callback([&command] { (void)command.request.mutable_firmware_commit(); });
  firmware->add_subcommand("revert", "boot the other slot again")->callback([&command] {
    (void)command.request.mutable_firmware_revert();
  });
  firmware->add_subcommand("verify", "check the running slot's files and daemons now")
      ->callback([&command] {
        (void)command.request.mutable_firmware_verify();
        command.failed_despite_ok = [](const schema::Response& r) {
          return r.firmware().integrity_findings_size() != 0;
        };
      });
}

}  // namespace sbc::tools
