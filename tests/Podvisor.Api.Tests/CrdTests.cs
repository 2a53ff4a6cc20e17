using Podvisor.Api.Crds;
using YamlDotNet.RepresentationModel;

namespace Podvisor.Api.Tests;

public sealed class CrdTests
{
    private static string Committed(string name) => Path.Combine(AppContext.BaseDirectory, "crds", name);

    [Fact]
    public void CommittedCrdsMatchTheTypes()
    {
        var generated = CrdGenerator.GenerateAll();
        Assert.Equal(3, generated.Count);
        foreach (var (name, yaml) in generated)
        {
            Assert.True(File.Exists(Committed(name)), $"crds/{name} is missing: run dotnet run --project src/Podvisor.Api.Crds -- crds");
            Assert.True(File.ReadAllText(Committed(name)) == yaml,
                $"crds/{name} differs from what the types in src/Podvisor.Api generate: run dotnet run --project src/Podvisor.Api.Crds -- crds");
        }
        Assert.Equal(generated.Select(g => g.FileName).Order(), Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "crds")).Select(Path.GetFileName).Order());
    }

    private static YamlMappingNode Load(string name)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(Committed(name))));
        return (YamlMappingNode)stream.Documents[0].RootNode;
    }

    private static YamlNode At(YamlNode node, params string[] path)
    {
        foreach (string key in path)
            node = node is YamlSequenceNode seq ? seq.Children[int.Parse(key)] : ((YamlMappingNode)node).Children[new YamlScalarNode(key)];
        return node;
    }

    private static string Scalar(YamlNode node, params string[] path) => ((YamlScalarNode)At(node, path)).Value!;

    [Theory]
    [InlineData("podvisor.io_virtualmachines.yaml", "VirtualMachine", "vm")]
    [InlineData("podvisor.io_virtualmachineinstances.yaml", "VirtualMachineInstance", "vmi")]
    [InlineData("podvisor.io_virtualmachineinstancemigrations.yaml", "VirtualMachineInstanceMigration", "vmim")]
    public void NamesStatusSubresourceAndColumns(string file, string kind, string shortName)
    {
        var crd = Load(file);
        Assert.Equal(kind, Scalar(crd, "spec", "names", "kind"));
        Assert.Contains(shortName, ((YamlSequenceNode)At(crd, "spec", "names", "shortNames")).Children.Select(c => ((YamlScalarNode)c).Value));
        var version = At(crd, "spec", "versions", "0");
        Assert.Equal("v1alpha1", Scalar(version, "name"));
        Assert.NotNull(At(version, "subresources", "status"));
        Assert.Contains("Age", ((YamlSequenceNode)At(version, "additionalPrinterColumns")).Children.Select(c => Scalar(c, "name")));
    }

    [Fact]
    public void TheSchemaCarriesTheValidationFromTheTypes()
    {
        var spec = At(Load("podvisor.io_virtualmachines.yaml"), "spec", "versions", "0", "schema", "openAPIV3Schema", "properties", "spec");
        Assert.Equal(["Always", "RerunOnFailure", "Manual", "Halted", "Once"],
            ((YamlSequenceNode)At(spec, "properties", "runStrategy", "enum")).Children.Select(c => ((YamlScalarNode)c).Value));
        var domain = At(spec, "properties", "template", "properties", "spec", "properties", "domain");
        Assert.Equal("1", Scalar(domain, "properties", "cpu", "properties", "cores", "minimum"));
        Assert.Equal("true", Scalar(domain, "properties", "memory", "properties", "guest", "x-kubernetes-int-or-string"));
        var volume = At(spec, "properties", "template", "properties", "spec", "properties", "volumes", "items");
        Assert.Equal("name", ((YamlScalarNode)((YamlSequenceNode)At(volume, "required")).Children[0]).Value);
        Assert.StartsWith("^[a-z0-9]", Scalar(volume, "properties", "name", "pattern"));
        // The XML docs are the descriptions kubectl explain shows.
        Assert.Equal("vCPU topology: the guest gets sockets × cores × threads vCPUs (each defaults to 1).",
            Scalar(domain, "properties", "cpu", "description"));
    }

    /// <summary>apiextensions.k8s.io/v1 wants a structural schema: every node says its type (or is int-or-string).</summary>
    [Fact]
    public void EverySchemaNodeIsStructural()
    {
        foreach (var (name, _) in CrdGenerator.GenerateAll())
        {
            var root = At(Load(name), "spec", "versions", "0", "schema", "openAPIV3Schema");
            Walk(root, "openAPIV3Schema", name);
        }

        static void Walk(YamlNode node, string path, string file)
        {
            var map = (YamlMappingNode)node;
            bool typed = map.Children.ContainsKey(new YamlScalarNode("type"));
            bool intOrString = map.Children.ContainsKey(new YamlScalarNode("x-kubernetes-int-or-string"));
            Assert.True(typed || intOrString, $"{file}: {path} has no type");
            if (map.Children.TryGetValue(new YamlScalarNode("properties"), out var properties))
                foreach (var (key, child) in ((YamlMappingNode)properties).Children) Walk(child, $"{path}.{key}", file);
            if (map.Children.TryGetValue(new YamlScalarNode("items"), out var items)) Walk(items, path + "[]", file);
            if (map.Children.TryGetValue(new YamlScalarNode("additionalProperties"), out var values)) Walk(values, path + "{}", file);
        }
    }
}
