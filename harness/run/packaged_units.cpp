#include "run/packaged_units.hpp"

#include "oom/files.hpp"
#include "oom/shell.hpp"
#include "vm/package_units.hpp"

namespace oom {
namespace {

// `oomharness vm build ...` for this guest: what a user runs to make the image.
std::string buildCommand(const ImageRequest& request, bool force) {
  std::vector<std::string> argv = {"oomharness", "vm", "build", "--release", request.release};
  if (force) argv.insert(argv.begin() + 3, "--force");
  for (const auto& p : request.packages) {
    argv.push_back("--package");
    argv.push_back(p);
  }
  return shellLine(argv);
}

std::string packagesText(const ImageRequest& request) {
  std::string text;
  for (const auto& p : request.packages) text += (text.empty() ? "" : ", ") + p;
  return text;
}

// The cached image, or why its packaged units cannot be read without building it.
Expected<GuestImage> cachedWithUnits(const ImageRequest& request) {
  auto image = cachedImage(request);
  if (!image)
    return failSetup("guest image", "a packaged unit file is read from the " + request.release +
                                        " guest image with " + packagesText(request) +
                                        ", which is not built yet, so it was not checked; build it with `" +
                                        buildCommand(request, false) + "` (`oomharness run` builds it itself)");
  if (!image->package_units_extracted)
    return failSetup(image->dir.string(), "this cached guest image was built before oomharness copied its "
                                          "packages' unit files out, so the packaged unit was not checked; build "
                                          "it again with `" + buildCommand(request, true) +
                                          "` (`oomharness run` does that itself)");
  return image;
}

}  // namespace

bool readsPackagedUnits(const Scenario& scenario) {
  for (const auto& svc : scenario.services)
    if (svc.files_unread) return true;
  return false;
}

Expected<PackagedUnits> packagedUnitsOf(const GuestImage& image) {
  PackagedUnits out;
  out.image = image.recipeName();
  for (const auto& [name, unit] : image.package_units) {
    auto text = readRegularFile(image.packageUnitFile(name), kMaxPackageUnitBytes, "packaged unit file");
    if (!text) return failSetup(text.error().where, text.error().message);
    out.units.push_back(PackagedUnit{name, unit.package, unit.version, unit.path, std::move(*text), unit.extracted_for});
  }
  return out;
}

std::function<Expected<PackagedUnits>(const GuestSpec&)> packagedUnitsFromImage(ImageUse use, std::string release) {
  return [use, release](const GuestSpec& guest) -> Expected<PackagedUnits> {
    ImageRequest request;
    request.release = release.empty() ? guest.release : release;
    request.packages = guest.packages;
    request.need_package_units = true;
    auto image = use == ImageUse::build ? ensureImage(request) : cachedWithUnits(request);
    if (!image) return tl::unexpected(image.error());
    return packagedUnitsOf(*image);
  };
}

}  // namespace oom
