// sbc-sign: offline signing of configuration bundles.
//
//   sbc-sign keygen --out signer1.key --public-out signer1.pub
//   sbc-sign bundle --config site.textproto --version 7 --environment production
//                   --expires +30d --out site-v7.bundle
//   sbc-sign sign --key signer1.key --in site-v7.bundle      (each signer in turn)
//   sbc-sign verify --trust-root trust-root.textproto --in site-v7.bundle
//   sbc-sign inspect --in site-v7.bundle
//   sbc-sign keygen --role firmware --out release1.key
//   sbc-sign manifest --root ROOT --version 12 --version-name 1.2.0 --rollback-index 3
//                     --board sim --environment development --out v1.2.0.manifest
//   sbc-sign sign --key release1.key --in v1.2.0.manifest     (each signer in turn)
//   sbc-sign image --root ROOT --manifest v1.2.0.manifest --out v1.2.0.img
//   sbc-sign verify --trust-root trust-root.textproto --board sim --in v1.2.0.img
//   sbc-sign keyinfo --pkcs11-module M --token release --key-label fw1 --role firmware
//   sbc-sign sign --pkcs11-module M --token release --key-label fw1 --in v1.2.0.manifest
#include <sysexits.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "commands.h"
#include "firmware_commands.h"

int main(int argc, char** argv) try {
  using namespace sbc::tools;
  CLI::App app{"sbc-sign: offline signing of appliance configuration bundles and firmware images"};
  app.require_subcommand(1);

  KeygenArgs keygen;
  auto* keygen_cmd = app.add_subcommand("keygen", "generate an ECDSA signing key (mode 0600)");
  keygen_cmd->add_option("--out", keygen.out, "private key file to create (PEM)")->required();
  keygen_cmd->add_option("--curve", keygen.curve, "p256 or p384")->capture_default_str();
  keygen_cmd->add_option("--public-out", keygen.public_out, "also write the public key (PEM)");
  keygen_cmd->add_option("--owner", keygen.owner, "who holds the key, for the trust root entry");
  keygen_cmd->add_option("--role", keygen.role, "config or firmware (the trust root entry's role)")
      ->capture_default_str();

  PayloadArgs bundle;
  auto* bundle_cmd = app.add_subcommand("bundle", "wrap a config in an unsigned bundle");
  bundle_cmd->add_option("--config", bundle.config, "ApplianceConfig in text format")->required();
  PayloadArgs downgrade;
  auto* downgrade_cmd = app.add_subcommand(
      "downgrade", "create an unsigned authorisation to downgrade to one version");
  downgrade_cmd->add_option("--reason", downgrade.reason, "why (audited)")->required();
  for (auto [cmd, args] : {std::pair{bundle_cmd, &bundle}, std::pair{downgrade_cmd, &downgrade}}) {
    cmd->add_option("--version", args->version, "version (bundle) or version permitted (downgrade)")
        ->required();
    cmd->add_option("--environment", args->environment, "development, staging or production")
        ->required();
    cmd->add_option("--expires", args->expires, "2027-01-31T00:00:00Z, or +30d / +12h")->required();
    cmd->add_option("--serial", args->serial, "only the appliance with this serial");
    cmd->add_option("--comment", args->comment, "free text kept in the payload");
    cmd->add_option("--out", args->out, "file to write")->required();
  }

  SignArgs sign;
  auto* sign_cmd =
      app.add_subcommand("sign", "add one signature to a bundle, authorisation or manifest");
  sign_cmd->add_option("--key", sign.key, "private key (PEM, mode 0600)");
  sign_cmd->add_option("--pkcs11-module", sign.pkcs11_module,
                       "or a key in a PKCS#11 token: the module (PIN from SBC_PKCS11_PIN or "
                       "stdin)");
  sign_cmd->add_option("--token", sign.token, "the token's label");
  sign_cmd->add_option("--key-label", sign.key_label, "the key's label in the token");
  sign_cmd->add_option("--in", sign.in, "envelope to sign")->required();
  sign_cmd->add_option("--out", sign.out, "where to write (default: in place)");

  KeyInfoArgs keyinfo;
  auto* keyinfo_cmd =
      app.add_subcommand("keyinfo", "print the trust root entry of a key held in a PKCS#11 token");
  keyinfo_cmd->add_option("--pkcs11-module", keyinfo.pkcs11_module, "the token's module")
      ->required();
  keyinfo_cmd->add_option("--token", keyinfo.token, "the token's label")->required();
  keyinfo_cmd->add_option("--key-label", keyinfo.key_label, "the key's label")->required();
  keyinfo_cmd->add_option("--role", keyinfo.role, "config or firmware")->capture_default_str();
  keyinfo_cmd->add_option("--owner", keyinfo.owner, "who holds the token, for audit");

  VerifyArgs verify;
  auto* verify_cmd = app.add_subcommand("verify", "verify an envelope against a trust root");
  verify_cmd->add_option("--trust-root", verify.trust_root, "trust root (text format)")->required();
  verify_cmd->add_option("--in", verify.in, "envelope")->required();
  verify_cmd->add_option("--serial", verify.serial,
                         "appliance serial to check a targeted bundle against");
  verify_cmd->add_option("--board", verify.board, "board to check a firmware image against");
  verify_cmd->add_option("--min-rollback-index", verify.min_rollback_index,
                         "the appliance's committed anti-rollback index");

  ManifestArgs manifest;
  auto* manifest_cmd =
      app.add_subcommand("manifest", "describe an image's files in an unsigned firmware manifest");
  manifest_cmd->add_option("--root", manifest.root, "the image's files")->required();
  manifest_cmd->add_option("--version", manifest.version, "build number (grows)")->required();
  manifest_cmd->add_option("--version-name", manifest.version_name, "e.g. 1.2.0")->required();
  manifest_cmd
      ->add_option("--rollback-index", manifest.rollback_index,
                   "anti-rollback index (raise it to retire older images)")
      ->required();
  manifest_cmd->add_option("--board", manifest.boards, "board it runs on (repeatable)")->required();
  manifest_cmd
      ->add_option("--environment", manifest.environment, "development, staging or production")
      ->required();
  manifest_cmd->add_option("--comment", manifest.comment, "free text kept in the manifest");
  manifest_cmd->add_option("--out", manifest.out, "file to write")->required();

  std::string image_root, image_manifest, image_out;
  auto* image_cmd = app.add_subcommand("image", "pack an image's files around its signed manifest");
  image_cmd->add_option("--root", image_root, "the image's files")->required();
  image_cmd->add_option("--manifest", image_manifest, "the signed manifest")->required();
  image_cmd->add_option("--out", image_out, "image file to write")->required();

  std::string inspect_in;
  auto* inspect_cmd = app.add_subcommand("inspect", "print an envelope's contents");
  inspect_cmd->add_option("--in", inspect_in, "envelope")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitInput;
  }
  if (*keygen_cmd) return Keygen(keygen);
  if (*bundle_cmd) return MakeBundle(bundle);
  if (*downgrade_cmd) return MakeDowngrade(downgrade);
  if (*manifest_cmd) return MakeManifest(manifest);
  if (*image_cmd) return MakeImage(image_root, image_manifest, image_out);
  if (*sign_cmd) return Sign(sign);
  if (*keyinfo_cmd) return KeyInfo(keyinfo);
  if (*verify_cmd) return Verify(verify);
  if (*inspect_cmd) return Inspect(inspect_in);
  return kExitInput;
} catch (const std::exception& e) {
  // Nothing is meant to throw this far: say what did, rather than abort without a word.
  std::cerr << "sbc-sign: unexpected failure: " << e.what() << std::endl;
  return EX_SOFTWARE;
}
