using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Podvisor.Api.Crds;

/// <summary>The summaries of the API types' XML documentation, by member, as plain one-line text.</summary>
internal sealed partial class XmlDocs
{
    private readonly Dictionary<string, string> _summaries = new(StringComparer.Ordinal);

    public XmlDocs(Assembly assembly)
    {
        string path = Path.ChangeExtension(assembly.Location, ".xml");
        if (!File.Exists(path)) throw new FileNotFoundException($"{path} is missing: build Podvisor.Api with GenerateDocumentationFile");
        foreach (var member in XDocument.Load(path).Descendants("member"))
        {
            var summary = member.Element("summary");
            if (summary is null) continue;
            // <see cref="T:Podvisor.Api.RunStrategies"/> → RunStrategies; <c>x</c> → x.
            string text = string.Concat(summary.Nodes().Select(n => n switch
            {
                XElement { Name.LocalName: "see" } see => Short((string?)see.Attribute("cref") ?? (string?)see.Attribute("langword") ?? ""),
                XElement e => e.Value,
                _ => n.ToString(),
            }));
            _summaries[(string)member.Attribute("name")!] = Whitespace().Replace(System.Net.WebUtility.HtmlDecode(text), " ").Trim();
        }
    }

    public string? For(Type type) => _summaries.GetValueOrDefault($"T:{type.FullName}");

    public string? For(PropertyInfo property) => _summaries.GetValueOrDefault($"P:{property.DeclaringType!.FullName}.{property.Name}");

    private static string Short(string cref) => cref[(cref.LastIndexOfAny([':', '.']) + 1)..];

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
