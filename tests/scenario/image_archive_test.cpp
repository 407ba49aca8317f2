// The user's own image (docs/containers.md#own-image): "image" and "archive" read and
// refused with the field to change, the archive walked as a tar for its manifest.json,
// and the plan that mounts oomstress into the image. Archives are built here byte by
// byte (a tar header is 512 bytes of fixed fields), the shipped one is read as shipped.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "error_text.hpp"
#include "oom/guest_paths.hpp"
#include "plan/planner.hpp"
#include "scenario/image_archive.hpp"
#include "scenario/parse.hpp"

using namespace oom;
using oomtest::errorsOf;
namespace fs = std::filesystem;

namespace {

const fs::path kContainersDir = fs::path(OOM_SOURCE_DIR) / "scenarios" / "containers";
const fs::path kShippedArchive = kContainersDir / "own-image" / "shop-web.tar";

std::string fileText(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// One ustar entry: a header with `name`, `type` and the size of `data`, then the data
// padded to 512 bytes.
std::string tarEntry(const std::string& name, const std::string& data, char type = '0') {
  std::string h(512, '\0');
  h.replace(0, name.size(), name);
  char size[12];
  std::snprintf(size, sizeof size, "%011o", static_cast<unsigned>(data.size()));
  h.replace(124, 11, size);
  h[156] = type;
  h.replace(257, 6, std::string("ustar\0", 6));
  h.replace(263, 2, "00");
  std::string padded = data;
  padded.resize((data.size() + 511) / 512 * 512, '\0');
  return h + padded;
}
std::string tarEnd() { return std::string(1024, '\0'); }

std::string errorOf(std::string_view tar) {
  auto images = imageNamesInArchive(tar);
  return images ? std::string("(read)") : images.error().message;
}

// A scenario in the shipped folder whose worker runs the shipped image.
nlohmann::json ownImageDocument() {
  return nlohmann::json::parse(fileText(kContainersDir / "own-image.json"));
}
nlohmann::json& workerContainer(nlohmann::json& doc) { return doc["services"][0]["container"]; }
ScenarioCheck parseInFolder(const nlohmann::json& doc, const fs::path& folder) {
  ScenarioSources sources;
  sources.base_dir = folder;
  return parseScenario(doc.dump(), "own-image.json", sources);
}

}  // namespace

TEST(ImageArchive, TheShippedArchiveNamesItsImage) {
  auto images = imageNamesInArchive(fileText(kShippedArchive));
  ASSERT_TRUE(images.has_value()) << images.error().message;
  EXPECT_EQ(*images, std::vector<std::string>{"localhost/shop/web:1.4"});
}

TEST(ImageArchive, TheShippedArchiveIsWhatItsScriptWrites) {
  const fs::path out = fs::temp_directory_path() / ("shop-web-" + std::to_string(::getpid()) + ".tar");
  const std::string command = "bash " + (kContainersDir / "make-shop-web-image").string() + " " + out.string();
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const bool same = fileText(out) == fileText(kShippedArchive);
  fs::remove(out);
  EXPECT_TRUE(same) << "own-image/shop-web.tar is not what make-shop-web-image writes: run it and commit the result";
}

TEST(ImageArchive, ReadsTheManifestPastLayersAndLongNames) {
  const std::string manifest = R"([{"Config":"c.json","RepoTags":["localhost/a:1","localhost/b:2"],"Layers":["l/layer.tar"]},
                                   {"Config":"d.json","RepoTags":null}])";
  // A layer before it (skipped by its size), a pax header naming the next entry, ./ prefixes.
  const std::string pax = "24 path=./manifest.json\n";  // its length counts itself
  const std::string tar = tarEntry("l/layer.tar", std::string(1500, 'x')) + tarEntry("PaxHeader", pax, 'x') +
                          tarEntry("ignored-short-name", manifest) + tarEnd();
  auto images = imageNamesInArchive(tar);
  ASSERT_TRUE(images.has_value()) << images.error().message;
  EXPECT_EQ(*images, (std::vector<std::string>{"localhost/a:1", "localhost/b:2"}));
  // GNU's long-name entry names the next one the same way.
  const std::string gnu = tarEntry("././@LongLink", std::string(120, 'd') + "/../manifest.json", 'L') +
                          tarEntry("short", manifest) + tarEnd();
  EXPECT_EQ(errorOf(gnu), "holds no manifest.json at its top; expected the docker-archive podman save writes "
                          "(podman save -o FILE IMAGE)")
      << "only the top-level manifest.json is the index";
}

TEST(ImageArchive, RefusesWhatPodmanSaveDoesNotWrite) {
  EXPECT_EQ(errorOf(std::string("\x1f\x8b\x08\x00", 4) + std::string(600, '\0')),
            "is compressed (gzip); expected the plain tar podman save writes (podman save -o FILE IMAGE)");
  EXPECT_EQ(errorOf(std::string(1024, 'a')),
            "is not a tar archive; expected the tar podman save writes (a docker-archive or an oci-archive)");
  EXPECT_EQ(errorOf(""), "holds no manifest.json at its top; expected the docker-archive podman save writes "
                         "(podman save -o FILE IMAGE)");
  // An entry that claims more bytes than the file has.
  std::string cut = tarEntry("manifest.json", std::string(2000, ' '));
  cut.resize(1024);
  EXPECT_EQ(errorOf(cut), "is cut short: an entry at byte 0 claims 2000 bytes, past the end of the file");
  // A damaged header after a good one.
  EXPECT_EQ(errorOf(tarEntry("a", "x") + std::string(512, 'z')),
            "is not a whole tar archive: the header at byte 1024 is damaged");
  EXPECT_EQ(errorOf(tarEntry("oci-layout", "{}") + tarEntry("index.json", "{}") + tarEnd()),
            "is an oci-archive (index.json, no manifest.json); expected a docker-archive, podman save's default "
            "format (podman save -o FILE IMAGE): an oci-archive's names are not read yet");
  EXPECT_EQ(errorOf(tarEntry("manifest.json", "{\"RepoTags\": []}") + tarEnd()),
            "manifest.json: expected a JSON array of images, as podman save writes it");
  EXPECT_EQ(errorOf(tarEntry("manifest.json", R"([{"RepoTags": [7]}])") + tarEnd()),
            "manifest.json: expected each of RepoTags as a string");
  EXPECT_EQ(errorOf(tarEntry("manifest.json", std::string(kMaxArchiveIndexBytes + 1, ' ')) + tarEnd()),
            "manifest.json is 1048577 bytes; expected at most 1048576 (podman save writes a few hundred)");
}

TEST(ImageArchive, ValidImageNames) {
  EXPECT_TRUE(validImageName("localhost/shop/web:1.4"));
  EXPECT_TRUE(validImageName("registry.example.com/team/api@sha256:0123abcd"));
  EXPECT_FALSE(validImageName(""));
  EXPECT_FALSE(validImageName("-v"));
  EXPECT_FALSE(validImageName("Shop/Web"));
  EXPECT_FALSE(validImageName("web 1"));
  EXPECT_FALSE(validImageName(std::string(256, 'a')));
}

TEST(ImageArchive, NamesAsPodmanStoresThem) {
  EXPECT_EQ(normalizedImageName("web:1.4"), "localhost/web:1.4");
  EXPECT_EQ(normalizedImageName("web"), "localhost/web:latest");
  EXPECT_EQ(normalizedImageName("shop/web:1.4"), "localhost/shop/web:1.4");
  EXPECT_EQ(normalizedImageName("docker.io/library/web:1.4"), "docker.io/library/web:1.4");
  EXPECT_EQ(normalizedImageName("localhost/shop/web:1.4"), "localhost/shop/web:1.4");
  EXPECT_EQ(normalizedImageName("localhost/shop/web"), "localhost/shop/web:latest");
  EXPECT_EQ(normalizedImageName("registry.example.com:5000/web"), "registry.example.com:5000/web:latest");
  EXPECT_EQ(normalizedImageName("quay.io/x/y@sha256:ab"), "quay.io/x/y@sha256:ab");
}

TEST(OwnImage, ThePlanMountsOomstressIntoTheLoadedImage) {
  const auto c = parseInFolder(ownImageDocument(), kContainersDir);
  ASSERT_TRUE(c.ok()) << errorsOf(c);
  const ContainerSpec& spec = *c.scenario->services[0].container;
  EXPECT_EQ(spec.image, "localhost/shop/web:1.4");
  EXPECT_EQ(spec.archive_in_payload, fs::path("shop-web.tar"));
  const auto plan = makeGuestPlan(*c.scenario);
  ASSERT_TRUE(plan.has_value());
  const PlannedUnit& u = plan->units[0];
  EXPECT_EQ(u.container.image, "localhost/shop/web:1.4");
  EXPECT_EQ(u.container.archive, std::string(guest::kPayloadDir) + "/shop-web.tar");
  const auto& argv = u.exec_start;
  const auto at = [&](const std::string& word) { return std::find(argv.begin(), argv.end(), word) - argv.begin(); };
  const auto image = at("localhost/shop/web:1.4");
  ASSERT_LT(image, static_cast<long>(argv.size()));
  EXPECT_LT(at(std::string("--volume=") + guest::kStressorPath + ":/oomstress:ro"), image);
  EXPECT_LT(at("--entrypoint=/oomstress"), image);
  EXPECT_EQ(argv[image + 1], "--target") << "oomstress's flags follow the image, its path is the entrypoint";
  EXPECT_EQ(at(guest::kContainerImage), static_cast<long>(argv.size())) << "not the built-in image";
  // The api, outside any container, and a built-in container are as before: no archive.
  EXPECT_FALSE(plan->units[1].inContainer());
}

TEST(OwnImage, RefusedWithTheFieldToChange) {
  struct Case {
    std::function<void(nlohmann::json&)> edit;
    std::string field, message;
  };
  const std::vector<Case> cases = {
      {[](nlohmann::json& d) { workerContainer(d).erase("archive"); }, "$.services[0].container.archive",
       "expected the docker-archive that holds \"localhost/shop/web:1.4\" (podman save -o FILE IMAGE), a file in "
       "$.payload: the guest loads it, with no registry"},
      {[](nlohmann::json& d) { workerContainer(d).erase("image"); }, "$.services[0].container.image",
       "expected the name of the image in \"own-image/shop-web.tar\" (the name podman save was given); the built-in "
       "image needs no archive"},
      {[](nlohmann::json& d) { workerContainer(d)["image"] = "localhost/shop/web:1.5"; }, "$.services[0].container.image",
       "\"localhost/shop/web:1.5\" is not in own-image/shop-web.tar, whose manifest.json names "
       "\"localhost/shop/web:1.4\"; expected one of those"},
      {[](nlohmann::json& d) { workerContainer(d)["image"] = "--privileged"; }, "$.services[0].container.image",
       "expected \"oomstress\" (the built-in image) or the name of an image in \"archive\" such as "
       "\"localhost/shop/web:1.4\" (lower-case letters, digits, . _ - / : @); got \"--privileged\""},
      {[](nlohmann::json& d) { d.erase("payload"); }, "$.services[0].container.archive",
       "\"own-image/shop-web.tar\" is not in the scenario's payload folder (it has no $.payload); expected a file "
       "inside $.payload, which the guest reads"},
      {[](nlohmann::json& d) { d["payload"] = "quadlet"; }, "$.services[0].container.archive",
       "\"own-image/shop-web.tar\" is not in the scenario's payload folder; expected a file inside $.payload, which "
       "the guest reads"},
      {[](nlohmann::json& d) { workerContainer(d)["archive"] = "own-image"; }, "$.services[0].container.archive",
       "\"own-image\" is not in the scenario's payload folder; expected a file inside $.payload, which the guest reads"},
      {[](nlohmann::json& d) { workerContainer(d)["archive"] = "own-image/none.tar"; },
       "$.services[0].container.archive", "no such file"},
      {[](nlohmann::json& d) { workerContainer(d)["archive"] = "../containers/own-image/shop-web.tar"; },
       "$.services[0].container.archive", "leaves the scenario's folder"},
      {[](nlohmann::json& d) { workerContainer(d)["quadlet"] = "quadlet/worker.container"; },
       "$.services[0].container.archive",
       "a Quadlet container runs the built-in image (its Image= is replaced); the user's own image is supported "
       "with podman run, without \"quadlet\", not yet from a Quadlet file"},
  };
  for (const auto& k : cases) {
    auto doc = ownImageDocument();
    k.edit(doc);
    const auto c = parseInFolder(doc, kContainersDir);
    const std::string all = errorsOf(c);
    EXPECT_NE(all.find("own-image.json: " + k.field + ": "), std::string::npos) << k.field << "\n" << all;
    EXPECT_NE(all.find(k.message), std::string::npos) << k.message << "\n" << all;
  }
}

TEST(OwnImage, AnArchiveThatIsNotPodmansIsRefusedWithItsName) {
  const fs::path dir = fs::temp_directory_path() / ("own-image-" + std::to_string(::getpid()));
  fs::create_directories(dir / "own-image");
  { std::ofstream(dir / "own-image" / "shop-web.tar", std::ios::binary) << std::string("\x1f\x8b\x08", 3) << "zz"; }
  const auto c = parseInFolder(ownImageDocument(), dir);
  fs::remove_all(dir);
  EXPECT_NE(errorsOf(c).find("$.services[0].container.archive: \"own-image/shop-web.tar\" is compressed (gzip)"),
            std::string::npos)
      << errorsOf(c);
}

TEST(OwnImage, WithoutALoadTheImagesOwnProgramRuns) {
  auto doc = ownImageDocument();
  doc["services"][0].erase("load");
  const auto c = parseInFolder(doc, kContainersDir);
  ASSERT_TRUE(c.ok()) << errorsOf(c);
  EXPECT_TRUE(c.scenario->services[0].runsOwnCommand());
  const auto plan = makeGuestPlan(*c.scenario);
  ASSERT_TRUE(plan.has_value());
  const PlannedUnit& u = plan->units[0];
  // The image's entrypoint and command, nothing mounted; conmon says when it runs.
  ASSERT_FALSE(u.exec_start.empty());
  EXPECT_EQ(u.exec_start.back(), "localhost/shop/web:1.4");
  const auto has = [&](const std::string& w) { return std::find(u.exec_start.begin(), u.exec_start.end(), w) != u.exec_start.end(); };
  EXPECT_TRUE(has("--sdnotify=conmon"));
  EXPECT_FALSE(has("--sdnotify=container"));
  EXPECT_FALSE(has("--entrypoint=/oomstress"));
  EXPECT_EQ(u.processes, 0u) << "its own program: as many processes as it starts";
  const auto type = std::find_if(u.properties.begin(), u.properties.end(), [](const UnitProperty& p) { return p.name == "Type"; });
  ASSERT_NE(type, u.properties.end());
  EXPECT_EQ(type->value, "notify");
  // The built-in image has no program of its own: it still needs a load.
  auto builtin = nlohmann::json::parse(fileText(kContainersDir / "limit-decides.json"));
  builtin["services"][0].erase("load");
  const auto refused = parseInFolder(builtin, kContainersDir);
  EXPECT_NE(errorsOf(refused).find("$.services[0].container: expected a \"load\" too: the built-in image is oomstress "
                                   "alone, which runs only a load"),
            std::string::npos)
      << errorsOf(refused);
}
