namespace Podvisor.EmulatedHost;

/// <summary>Reads a kernel's modules.dep and orders the modules needed for a set of names so that
/// every module comes after the modules it depends on (the order insmod needs).</summary>
public sealed class KernelModules
{
    private readonly Dictionary<string, (string Path, string[] Dependencies)> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _nameByPath = new(StringComparer.Ordinal);

    public KernelModules(IEnumerable<string> modulesDepLines)
    {
        foreach (string line in modulesDepLines)
        {
            int colon = line.IndexOf(':');
            if (colon <= 0) continue;
            string path = line[..colon].Trim();
            string[] deps = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            string name = NameOf(path);
            _byName[name] = (path, deps);
            _nameByPath[path] = name;
        }
    }

    /// <summary>kernel/arch/x86/kvm/kvm-amd.ko.xz → kvm_amd (module names treat - and _ alike).</summary>
    public static string NameOf(string path)
    {
        string file = Path.GetFileName(path);
        int ko = file.IndexOf(".ko", StringComparison.Ordinal);
        return (ko >= 0 ? file[..ko] : file).Replace('-', '_');
    }

    /// <summary>Module paths (relative to the modules directory) in load order.</summary>
    public IReadOnlyList<string> LoadOrder(IEnumerable<string> names)
    {
        var order = new List<string>();
        var visiting = new HashSet<string>();
        void Visit(string name)
        {
            if (!_byName.TryGetValue(name, out var module))
                throw new InvalidOperationException($"module {name} is not in modules.dep");
            if (order.Contains(module.Path) || !visiting.Add(name)) return;
            foreach (string dep in module.Dependencies)
            {
                Visit(_nameByPath.TryGetValue(dep, out var depName) ? depName : NameOf(dep));
            }
            order.Add(module.Path);
        }
        foreach (string name in names) Visit(name.Replace('-', '_'));
        return order;
    }
}
