// Files the bundler loads as text (esbuild's "text" loader).
declare module "*.html" {
  const text: string;
  export default text;
}
