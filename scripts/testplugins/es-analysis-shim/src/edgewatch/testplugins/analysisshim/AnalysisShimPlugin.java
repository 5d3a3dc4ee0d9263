/*
 * TEST INFRASTRUCTURE ONLY — not part of edgewatch and never shipped.
 *
 * A minimal stand-in for Elasticsearch's analysis-common module, which the
 * integration-test distribution on Maven Central lacks and which is not
 * published there. The .security index (native users, native roles, API keys)
 * declares an "email" analyzer built from these components; without them every
 * request that needs that index fails with
 *   400 illegal_argument_exception: Unknown filter type [pattern_capture] for [email]
 * This plugin registers exactly the four components that index uses, built
 * from Lucene classes the distribution already ships (lib/lucene-*.jar):
 *   token filters  pattern_capture, lowercase, unique
 *   tokenizer      uax_url_email
 * See ../../../../README.md for why it exists and how scripts/cluster.sh builds it.
 */
package edgewatch.testplugins.analysisshim;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;

import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.LowerCaseFilter;
import org.apache.lucene.analysis.TokenFilter;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.email.UAX29URLEmailTokenizer;
import org.apache.lucene.analysis.pattern.PatternCaptureGroupTokenFilter;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.elasticsearch.index.analysis.TokenizerFactory;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;

public final class AnalysisShimPlugin extends Plugin implements AnalysisPlugin {

    /** A token filter factory named name that wraps its input with wrap. */
    private static TokenFilterFactory filterFactory(String name, UnaryOperator<TokenStream> wrap) {
        return new TokenFilterFactory() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public TokenStream create(TokenStream in) {
                return wrap.apply(in);
            }
        };
    }

    @Override
    public Map<String, AnalysisProvider<TokenFilterFactory>> getTokenFilters() {
        return Map.of(
            "lowercase", (indexSettings, env, name, settings) -> filterFactory(name, LowerCaseFilter::new),
            "unique", (indexSettings, env, name, settings) -> filterFactory(name, UniqueFilter::new),
            // pattern_capture reads its patterns from the filter's settings, as analysis-common does.
            "pattern_capture", AnalysisPlugin.requiresAnalysisSettings((indexSettings, env, name, settings) -> {
                List<String> regexes = settings.getAsList("patterns");
                if (regexes.isEmpty()) {
                    throw new IllegalArgumentException("pattern_capture filter [" + name + "] needs [patterns]");
                }
                Pattern[] patterns = regexes.stream().map(Pattern::compile).toArray(Pattern[]::new);
                boolean preserveOriginal = settings.getAsBoolean("preserve_original", true);
                return filterFactory(name, in -> new PatternCaptureGroupTokenFilter(in, preserveOriginal, patterns));
            }));
    }

    @Override
    public Map<String, AnalysisProvider<TokenizerFactory>> getTokenizers() {
        return Map.of("uax_url_email", (indexSettings, env, name, settings) -> {
            int maxTokenLength = settings.getAsInt("max_token_length", 255);
            return TokenizerFactory.newFactory(name, () -> {
                UAX29URLEmailTokenizer tokenizer = new UAX29URLEmailTokenizer();
                tokenizer.setMaxTokenLength(maxTokenLength);
                return tokenizer;
            });
        });
    }

    /** Emits each term once per stream, like analysis-common's unique filter (only_on_same_position=false). */
    static final class UniqueFilter extends TokenFilter {
        private final CharTermAttribute term = addAttribute(CharTermAttribute.class);
        private final CharArraySet seen = new CharArraySet(8, false);

        UniqueFilter(TokenStream in) {
            super(in);
        }

        @Override
        public boolean incrementToken() throws IOException {
            while (input.incrementToken()) {
                char[] buf = term.buffer();
                int len = term.length();
                if (!seen.contains(buf, 0, len)) {
                    char[] copy = new char[len];
                    System.arraycopy(buf, 0, copy, 0, len);
                    seen.add(copy);
                    return true;
                }
            }
            return false;
        }

        @Override
        public void reset() throws IOException {
            super.reset();
            seen.clear();
        }
    }
}
