// @ts-check
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "cdktf.out/", ".tools/", ".data/", "coverage/", "app/ui/dist/", "policies/dist/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: "readonly",
        console: "readonly",
        Buffer: "readonly",
        __dirname: "readonly",
        require: "readonly",
        module: "writable",
        setTimeout: "readonly",
        clearTimeout: "readonly",
        setInterval: "readonly",
        clearInterval: "readonly",
        URL: "readonly",
        fetch: "readonly",
        AbortController: "readonly",
        AbortSignal: "readonly",
        performance: "readonly",
      },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-require-imports": "off",
      // Deep imports keep synth fast: the provider barrels cost seconds and a gigabyte each.
      "no-restricted-imports": [
        "error",
        {
          paths: [
            {
              name: "@cdktf/provider-aws",
              message: "Import the resource's deep path (@cdktf/provider-aws/lib/<resource>): the barrel costs ~5 s and ~1 GB.",
            },
            { name: "@cdktf/provider-kubernetes", message: "Import the deep path (@cdktf/provider-kubernetes/lib/<resource>)." },
            { name: "@cdktf/provider-helm", message: "Import the deep path (@cdktf/provider-helm/lib/<resource>)." },
          ],
        },
      ],
    },
  },
);
