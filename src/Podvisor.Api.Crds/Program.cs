using Podvisor.Api.Crds;

// Writes the CRDs from the API types into each folder given:
//   dotnet run --project src/Podvisor.Api.Crds -- crds charts/podvisor/crds
string[] outputs = args.Length > 0 ? args : ["crds", "charts/podvisor/crds"];
foreach (string output in outputs)
{
    Directory.CreateDirectory(output);
    foreach (var (name, yaml) in CrdGenerator.GenerateAll())
    {
        File.WriteAllText(Path.Combine(output, name), yaml);
        Console.WriteLine($"wrote {Path.Combine(output, name)}");
    }
}
