using Podvisor.Api.Crds;

// Writes crds/*.yaml from the API types: dotnet run --project src/Podvisor.Api.Crds -- [OUTPUT_DIR]
string output = args.Length > 0 ? args[0] : "crds";
Directory.CreateDirectory(output);
foreach (var (name, yaml) in CrdGenerator.GenerateAll())
{
    File.WriteAllText(Path.Combine(output, name), yaml);
    Console.WriteLine($"wrote {Path.Combine(output, name)}");
}
