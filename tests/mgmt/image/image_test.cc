// Firmware images: every refusal the appliance makes of an image, each with its own
// reason and a message naming what was wrong, through real signatures.
#include "sbc/mgmt/image/image.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "support/firmware_signing.h"
#include "support/temp_dir.h"

namespace sbc::mgmt::image {
namespace {

using ::sbc::testing::FirmwareSigners;
using ::sbc::testing::ImageSpec;
using ::testing::HasSubstr;

namespace fs = std::filesystem;

class ImageTest : public ::testing::Test {
 protected:
  ImageTest()
      : signers_(3, 2, schema::DEVELOPMENT),
        verifier_(*trust::Verifier::Create(signers_.root(), signers_.Identity())) {
    testing::WriteSampleTree(root(), "v1");
  }

  fs::path root() const { return dir_.path() / "root"; }
  std::vector<const trust::PrivateKey*> TwoSigners() const {
    return {&signers_.firmware_key(0), &signers_.firmware_key(1)};
  }
  std::string Image(const ImageSpec& spec = {}) const {
    return testing::MakeImage(root(), spec, TwoSigners());
  }
  ImageError Refusal(const std::string& image, ImageRequirements requirements = {"sim", 0}) const {
    auto verified = VerifyImage(image, verifier_, requirements);
    EXPECT_FALSE(verified.has_value()) << "the image was accepted";
    return verified ? ImageError{ImageRefusal::kStorage, "", std::nullopt} : verified.error();
  }

  testing::ScopedTempDir dir_;
  FirmwareSigners signers_;
  trust::Verifier verifier_;
};

TEST_F(ImageTest, ASignedImageVerifiesAndUnpacksToTheTreeItWasMadeOf) {
  const std::string image = Image();
  auto verified = VerifyImage(image, verifier_, {"sim", 1});
  ASSERT_TRUE(verified.has_value()) << verified.error().message;
  EXPECT_EQ(verified->manifest.files_size(), 2);
  EXPECT_EQ(verified->manifest.version_name(), "1.0.0");

  ASSERT_TRUE(UnpackImage(image, *verified, dir_.path() / "unpacked").has_value());
  EXPECT_TRUE(VerifyTree(dir_.path() / "unpacked", verified->manifest).has_value());
  struct stat st {};
  ASSERT_EQ(stat((dir_.path() / "unpacked/bin/sbc-tool").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
}

TEST_F(ImageTest, AChangedByteInAFileIsRefusedNamingTheFile) {
  std::string image = Image();
  image[image.size() - 3] ^= 0x01;  // inside etc/defaults.textproto, the last file
  const ImageError error = Refusal(image);
  EXPECT_EQ(error.reason, ImageRefusal::kFileChanged);
  EXPECT_THAT(error.message, HasSubstr("SHA-256 differs from the signed manifest"));
}

TEST_F(ImageTest, AChangedManifestNoLongerVerifies) {
  std::string image = Image();
  auto envelope = ManifestEnvelopeOf(image);
  ASSERT_TRUE(envelope.has_value());
  schema::SignedEnvelope parsed;
  ASSERT_TRUE(parsed.ParseFromArray(envelope->data(), static_cast<int>(envelope->size())));
  schema::FirmwareManifest manifest;
  ASSERT_TRUE(manifest.ParseFromString(parsed.payload()));
  manifest.set_rollback_index(99);  // what an attacker would want to change
  parsed.set_payload(manifest.SerializeAsString());
  auto repacked = PackImage(root(), parsed.SerializeAsString());
  ASSERT_TRUE(repacked.has_value()) << repacked.error();
  const ImageError error = Refusal(*repacked);
  EXPECT_EQ(error.reason, ImageRefusal::kSignature);
  EXPECT_EQ(error.signature_reason, trust::Rejection::kBadSignature);
  EXPECT_THAT(error.message, HasSubstr("does not verify"));
}

TEST_F(ImageTest, AKeyTheTrustRootDoesNotListIsRefused) {
  auto stranger = trust::PrivateKey::Generate(trust::Curve::kP256);
  ASSERT_TRUE(stranger.has_value());
  const ImageError error =
      Refusal(testing::MakeImage(root(), {}, {&*stranger, &signers_.firmware_key(0)}));
  EXPECT_EQ(error.reason, ImageRefusal::kSignature);
  EXPECT_EQ(error.signature_reason, trust::Rejection::kUnknownKey);
}

TEST_F(ImageTest, AConfigKeyCannotSignFirmware) {
  const ImageError error =
      Refusal(testing::MakeImage(root(), {}, {&signers_.config_key(), &signers_.firmware_key(0)}));
  EXPECT_EQ(error.reason, ImageRefusal::kSignature);
  EXPECT_EQ(error.signature_reason, trust::Rejection::kWrongRole);
}

TEST_F(ImageTest, FewerSignersThanTheFirmwareThresholdAreRefused) {
  const ImageError error = Refusal(testing::MakeImage(root(), {}, {&signers_.firmware_key(2)}));
  EXPECT_EQ(error.reason, ImageRefusal::kSignature);
  EXPECT_EQ(error.signature_reason, trust::Rejection::kThresholdNotMet);
  EXPECT_THAT(error.message, HasSubstr("signed by 1 FIRMWARE key(s), the trust root requires 2"));
}

TEST_F(ImageTest, AnImageForAnotherBoardIsRefused) {
  const ImageError error = Refusal(Image({.boards = {"rack-1u-e810"}}));
  EXPECT_EQ(error.reason, ImageRefusal::kWrongBoard);
  EXPECT_THAT(error.message,
              HasSubstr("is for boards [rack-1u-e810], this appliance is board sim"));
}

TEST_F(ImageTest, ADevelopmentImageNeverRunsOnAProductionApplianceNorTheReverse) {
  const FirmwareSigners production(2, 1, schema::PRODUCTION);
  auto production_verifier = trust::Verifier::Create(production.root(), production.Identity());
  ASSERT_TRUE(production_verifier.has_value());
  // Signed by the production keys, but built as a development image.
  const std::string development_image = testing::MakeImage(
      root(), {.environment = schema::DEVELOPMENT}, {&production.firmware_key(0)});
  auto refused = VerifyImage(development_image, *production_verifier, {"sim", 0});
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().reason, ImageRefusal::kWrongEnvironment);
  EXPECT_THAT(refused.error().message,
              HasSubstr("is a DEVELOPMENT image, this appliance is PRODUCTION"));

  const ImageError reverse = Refusal(Image({.environment = schema::PRODUCTION}));
  EXPECT_EQ(reverse.reason, ImageRefusal::kWrongEnvironment);
  EXPECT_THAT(reverse.message, HasSubstr("is a PRODUCTION image, this appliance is DEVELOPMENT"));
}

TEST_F(ImageTest, AnIndexBelowTheCommittedOneIsRefusedAndEqualIsAccepted) {
  const std::string image = Image({.rollback_index = 4});
  const ImageError error = Refusal(image, {"sim", 5});
  EXPECT_EQ(error.reason, ImageRefusal::kRollbackIndexTooLow);
  EXPECT_THAT(error.message,
              HasSubstr("anti-rollback index 4, this appliance has committed index 5"));
  EXPECT_TRUE(VerifyImage(image, verifier_, {"sim", 4}).has_value());
}

TEST_F(ImageTest, ATruncatedImageIsRefused) {
  const std::string image = Image();
  const ImageError error = Refusal(image.substr(0, image.size() - 1));
  EXPECT_EQ(error.reason, ImageRefusal::kFileMissing);
  EXPECT_THAT(error.message, HasSubstr("truncated image"));
}

TEST_F(ImageTest, BytesThatAreNoImageAreMalformed) {
  for (const std::string& bytes :
       {std::string(), std::string("SBCFWIM1"), std::string("SBCFWIM1\xff\xff\xff\xff", 12),
        std::string("GARBAGE!\0\0\0\1x", 13)}) {
    const ImageError error = Refusal(bytes);
    EXPECT_EQ(error.reason, ImageRefusal::kMalformed) << error.message;
  }
}

TEST_F(ImageTest, ASignedManifestWithAPathOutsideTheImageIsRefused) {
  for (const char* bad : {"../etc/passwd", "/etc/passwd", "bin//x", "bin/./x", "a b"}) {
    schema::FirmwareManifest manifest = testing::ManifestOf(root(), {});
    manifest.mutable_files(0)->set_path(bad);
    const std::string envelope = testing::SignManifest(manifest, TwoSigners());
    auto verified = VerifyManifestEnvelope(envelope, verifier_, {"sim", 0});
    ASSERT_FALSE(verified.has_value()) << bad;
    EXPECT_EQ(verified.error().reason, ImageRefusal::kBadPath) << bad;
  }
}

TEST_F(ImageTest, ASetuidModeIsRefusedEvenSigned) {
  schema::FirmwareManifest manifest = testing::ManifestOf(root(), {});
  manifest.mutable_files(0)->set_mode(04755);
  auto verified =
      VerifyManifestEnvelope(testing::SignManifest(manifest, TwoSigners()), verifier_, {"sim", 0});
  ASSERT_FALSE(verified.has_value());
  EXPECT_EQ(verified.error().reason, ImageRefusal::kBadPath);
  EXPECT_THAT(verified.error().message, HasSubstr("mode 04755"));
}

TEST_F(ImageTest, TheTreeCheckFindsAChangedFileAModeAndAnExtraFile) {
  const schema::FirmwareManifest manifest = testing::ManifestOf(root(), {});
  ASSERT_TRUE(VerifyTree(root(), manifest).has_value());

  {
    std::ofstream out(root() / "bin/sbc-tool", std::ios::app);
    out << "#";
  }
  auto changed = VerifyTree(root(), manifest);
  ASSERT_FALSE(changed.has_value());
  EXPECT_EQ(changed.error().reason, ImageRefusal::kFileChanged);
  EXPECT_THAT(changed.error().message, HasSubstr("bin/sbc-tool"));

  testing::WriteSampleTree(root(), "v1");
  chmod((root() / "etc/defaults.textproto").c_str(), 0666);
  auto mode = VerifyTree(root(), manifest);
  ASSERT_FALSE(mode.has_value());
  EXPECT_THAT(mode.error().message, HasSubstr("mode 0666, the signed manifest says 0644"));

  chmod((root() / "etc/defaults.textproto").c_str(), 0644);
  std::ofstream(root() / "bin/implant") << "x";
  auto extra = VerifyTree(root(), manifest);
  ASSERT_FALSE(extra.has_value());
  EXPECT_EQ(extra.error().reason, ImageRefusal::kExtraFile);
  EXPECT_THAT(extra.error().message, HasSubstr("bin/implant"));
}

TEST_F(ImageTest, TheBuilderRefusesLinksInTheTree) {
  fs::create_symlink("/etc/passwd", root() / "etc/passwd");
  auto manifest = DescribeTree(root());
  ASSERT_FALSE(manifest.has_value());
  EXPECT_THAT(manifest.error(), HasSubstr("etc/passwd: not a regular file"));
}

TEST_F(ImageTest, UnpackingNeverWritesIntoAnExistingDirectory) {
  const std::string image = Image();
  auto verified = VerifyImage(image, verifier_, {"sim", 0});
  ASSERT_TRUE(verified.has_value());
  fs::create_directories(dir_.path() / "exists");
  auto unpacked = UnpackImage(image, *verified, dir_.path() / "exists");
  ASSERT_FALSE(unpacked.has_value());
  EXPECT_EQ(unpacked.error().reason, ImageRefusal::kStorage);
}

}  // namespace
}  // namespace sbc::mgmt::image
