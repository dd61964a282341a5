{
  description = "benchlab: benchmark local GGUF models as coding agents";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs = { self, nixpkgs }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" "aarch64-darwin" ];
      forAll = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in {
      devShells = forAll (pkgs: {
        # CPU llama.cpp by default; for GPUs use llama-cpp.override { cudaSupport = true; }
        # (or rocmSupport / vulkanSupport) and point BENCHLAB_LLAMA_SERVER at its llama-server.
        default = pkgs.mkShell {
          packages = [
            pkgs.python311
            pkgs.uv
            pkgs.nodejs_20
            pkgs.git
            pkgs.llama-cpp
            pkgs.docker-client
            pkgs.gnumake
          ];
          shellHook = ''
            export LITELLM_LOCAL_MODEL_COST_MAP=True
            export BENCHLAB_LLAMA_SERVER=${pkgs.llama-cpp}/bin/llama-server
          '';
        };
      });
    };
}
