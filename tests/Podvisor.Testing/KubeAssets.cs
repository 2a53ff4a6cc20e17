namespace Podvisor.Testing;

/// <summary>
/// Where the real control-plane binaries are, envtest style: <c>KUBEBUILDER_ASSETS</c> (a folder with etcd
/// and kube-apiserver), else the steering repository's shared/kube/bin beside this repository plus etcd on
/// the PATH (Debian's etcd-server).
/// </summary>
public sealed record KubeAssets(string Etcd, string KubeApiServer)
{
    public static KubeAssets Find()
    {
        if (Environment.GetEnvironmentVariable("KUBEBUILDER_ASSETS") is { Length: > 0 } assets)
            return Check(new(Path.Combine(assets, "etcd"), Path.Combine(assets, "kube-apiserver")), $"KUBEBUILDER_ASSETS={assets}");
        string? apiServer = null;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null && apiServer is null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "kube", "bin", "kube-apiserver");
            if (File.Exists(candidate)) apiServer = candidate;
        }
        string? etcd = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
            .Select(p => Path.Combine(p, "etcd")).FirstOrDefault(File.Exists);
        return Check(new(etcd ?? "etcd (not on PATH: apt-get install etcd-server)", apiServer ?? "shared/kube/bin/kube-apiserver (not found above the tests)"),
            "shared/kube and PATH");
    }

    private static KubeAssets Check(KubeAssets assets, string from)
    {
        foreach (string binary in new[] { assets.Etcd, assets.KubeApiServer })
            if (!File.Exists(binary)) throw new FileNotFoundException($"the real API server's binaries are missing ({from}): {binary}");
        return assets;
    }
}
