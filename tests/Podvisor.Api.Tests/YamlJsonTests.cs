using System.Text.Json.Nodes;
using YamlDotNet.RepresentationModel;

namespace Podvisor.Api.Tests;

public sealed class YamlJsonTests
{
    private static JsonNode? Convert(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return YamlJson.Convert(stream.Documents[0].RootNode, new Dictionary<string, int>());
    }

    [Theory]
    [InlineData("v: 42", "{\"v\":42}")]
    [InlineData("v: -7", "{\"v\":-7}")]
    [InlineData("v: 0x1f", "{\"v\":31}")]
    [InlineData("v: 1.5", "{\"v\":1.5}")]
    [InlineData("v: true", "{\"v\":true}")]
    [InlineData("v: False", "{\"v\":false}")]
    [InlineData("v: ~", "{\"v\":null}")]
    [InlineData("v:", "{\"v\":null}")]
    [InlineData("v: \"42\"", "{\"v\":\"42\"}")]
    [InlineData("v: 'true'", "{\"v\":\"true\"}")]
    [InlineData("v: yes", "{\"v\":\"yes\"}")]
    [InlineData("v: 256Mi", "{\"v\":\"256Mi\"}")]
    [InlineData("v: [1, a]", "{\"v\":[1,\"a\"]}")]
    [InlineData("v: |\n  two\n  lines\n", "{\"v\":\"two\\nlines\\n\"}")]
    public void ScalarsAreTypedByTheYaml12CoreSchema(string yaml, string json) =>
        Assert.Equal(json, Convert(yaml)!.ToJsonString());

    [Fact]
    public void DuplicateKeysAreRefused() =>
        Assert.Throws<YamlDotNet.Core.YamlException>(() => Convert("a: 1\na: 2\n"));

    [Fact]
    public void RecordsTheLineOfEveryPath()
    {
        var stream = new YamlStream();
        stream.Load(new StringReader("a:\n  b:\n  - x: 1\n  - y: 2\n"));
        var lines = new Dictionary<string, int>();
        YamlJson.Convert(stream.Documents[0].RootNode, lines);
        Assert.Equal(3, lines["$.a.b[0].x"]);
        Assert.Equal(4, lines["$.a.b[1].y"]);
    }
}
