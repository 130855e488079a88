// Scrolling the way the user asked for: smooth, unless the system asks for reduced motion.

/** The scroll behaviour to use: 'auto' (a jump) when the user prefers reduced motion, else 'smooth'. */
export function scrollBehavior(): ScrollBehavior {
  const reduce = typeof matchMedia === 'function' && matchMedia('(prefers-reduced-motion: reduce)').matches;
  return reduce ? 'auto' : 'smooth';
}
